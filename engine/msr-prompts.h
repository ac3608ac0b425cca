/* msr-prompts.h: the prompts MSR Lens asks an LLM, LLM4MSR-style
 * (method-spec §4.1–4.2): one scenario-level prompt per scenario, which
 * describes every scenario by its statistics and example items and asks for
 * this scenario's traits, commonalities and differences; and one user-level
 * prompt per user, which lists the user's interactions grouped by scenario
 * and asks for interests within and across scenarios.
 *
 * Only MSR_SPLIT_TRAIN rows are read: neither validation nor test rows ever
 * reach a prompt, so knowledge made from them cannot leak labels into the
 * evaluation.
 *
 * The templates are the text files resources/prompts/NAME-vVERSION.txt,
 * compiled into the engine as a GIO resource bundle of its own
 * (engine/meson.build). Everything that shapes a prompt is fixed by its
 * template's name and version, so a prompt can be re-created exactly from
 * the dataset, the key and (name, version): that is how a batch import
 * stores the prompt beside a response. docs/KNOWLEDGE-PROMPTS.md shows the
 * templates and the blocks that fill them. */
#pragma once

#include <glib.h>
#include "msr-dataset.h"
#include "msr-knowledge.h"

G_BEGIN_DECLS

#define MSR_PROMPT_SCENARIO_TEMPLATE "scenario"
#define MSR_PROMPT_USER_TEMPLATE     "user"

typedef struct _MsrPromptTemplate MsrPromptTemplate;

/* The template name of a level ("scenario", "user"), or NULL for a level
 * MSR Lens writes no prompts for (items). */
const char        *msr_prompt_template_name_for_level (MsrKnowledgeLevel level);
/* The newest version of a template, or 0 when there is no such template. */
guint              msr_prompt_template_current_version (const char *name);

/* Loads a template; version 0 takes the newest. Fails when there is no
 * such template or it is malformed (an unknown {placeholder}). */
MsrPromptTemplate *msr_prompt_template_load        (const char *name, guint version, GError **error);
void               msr_prompt_template_free        (MsrPromptTemplate *tmpl);
const char        *msr_prompt_template_get_name    (const MsrPromptTemplate *tmpl);
guint              msr_prompt_template_get_version (const MsrPromptTemplate *tmpl);
MsrKnowledgeLevel  msr_prompt_template_get_level   (const MsrPromptTemplate *tmpl);
/* "scenario-v1": the file's base name. */
const char        *msr_prompt_template_get_id      (const MsrPromptTemplate *tmpl);
/* The system message, verbatim. */
const char        *msr_prompt_template_get_system  (const MsrPromptTemplate *tmpl);
/* The user message with its {placeholders}. */
const char        *msr_prompt_template_get_text    (const MsrPromptTemplate *tmpl);
/* The template file's bytes as compiled in (file name "scenario-v1.txt"),
 * or NULL with an error. */
GBytes            *msr_prompt_template_lookup_file (const char *file_name, GError **error);
/* The compiled-in template files, sorted ("scenario-v1.txt", ...). */
char             **msr_prompt_template_list_files  (void);

/* The source of the entries a model writes through a template:
 * "<model>:<name>-v<version>", e.g. "qwen2.5-7b-instruct:user-v1". */
char              *msr_prompt_source_name (const char *model, const MsrPromptTemplate *tmpl);

typedef struct _MsrPromptBuilder MsrPromptBuilder;

/* Prepares the prompts of one level (scenario or user) through the given
 * template version (0 = newest): gathers the dataset's training rows per
 * scenario or per user. ds must outlive the builder. */
MsrPromptBuilder  *msr_prompt_builder_new          (const MsrDataset *ds, MsrKnowledgeLevel level, guint version,
                                                    GError **error);
void               msr_prompt_builder_free         (MsrPromptBuilder *builder);
const MsrPromptTemplate *msr_prompt_builder_get_template (const MsrPromptBuilder *builder);
MsrKnowledgeLevel  msr_prompt_builder_get_level    (const MsrPromptBuilder *builder);
/* The keys that have a prompt, in the dataset's order (NULL-terminated):
 * every scenario; the users with at least one training interaction. */
char             **msr_prompt_builder_list_keys    (const MsrPromptBuilder *builder);
gboolean           msr_prompt_builder_has_key      (const MsrPromptBuilder *builder, const char *key);
/* The keys to ask about: those given, in that order, without repeats
 * (the ones without a prompt are appended to unknown, a char * array), or
 * every key with a prompt; then the first limit of them (0: all). */
GPtrArray         *msr_prompt_builder_choose_keys  (const MsrPromptBuilder *builder, const char * const *keys,
                                                    guint limit, GPtrArray *unknown);
/* The user message for one key (the system message is the template's).
 * Deterministic: the same dataset, key and template give the same bytes.
 * Fails for a key without a prompt. */
char              *msr_prompt_builder_build        (const MsrPromptBuilder *builder, const char *key, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrPromptTemplate, msr_prompt_template_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrPromptBuilder, msr_prompt_builder_free)

G_END_DECLS
