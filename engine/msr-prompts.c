/* msr-prompts.c: see msr-prompts.h. */
#include "config.h"
#include "msr-prompts.h"
#include "msr-prompt-resources.h"

#include <gio/gio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RESOURCE_DIR "/io/github/msrlens/engine/prompts/"

/* What a template version fixes besides its text: changing one of these
 * changes the prompts, so it needs a new version. */
#define SCENARIO_EXAMPLE_ITEMS 5   /* most frequent items listed per scenario */
#define USER_ITEMS_PER_SCENARIO 30 /* latest interactions listed per scenario */

struct _MsrPromptTemplate {
  char             *name;
  guint             version;
  MsrKnowledgeLevel level;
  char             *id;
  char             *system;
  char             *text;
};

/* The bundle, registered on first use (under the engine's own prefix, so
 * it meets no other bundle): a static library would drop a constructor. */
static GResource *
prompts_resource (void)
{
  static gsize registered;
  if (g_once_init_enter (&registered))
    {
      msr_prompts_register_resource ();
      g_once_init_leave (&registered, 1);
    }
  return msr_prompts_get_resource ();
}

static const char * const scenario_placeholders[] = { "dataset", "n_scenarios", "scenarios", "scenario", NULL };
static const char * const user_placeholders[] = { "dataset", "n_scenarios", "scenario_names", "user", "n_active",
                                                  "interactions", NULL };

const char *
msr_prompt_template_name_for_level (MsrKnowledgeLevel level)
{
  switch (level)
    {
    case MSR_KNOWLEDGE_SCENARIO: return MSR_PROMPT_SCENARIO_TEMPLATE;
    case MSR_KNOWLEDGE_USER: return MSR_PROMPT_USER_TEMPLATE;
    default: return NULL;
    }
}

static int
cmp_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char **
msr_prompt_template_list_files (void)
{
  char **files = g_resource_enumerate_children (prompts_resource (), RESOURCE_DIR,
                                                G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (files == NULL)
    return g_new0 (char *, 1);
  qsort (files, g_strv_length (files), sizeof (char *), cmp_strings);
  return files;
}

/* The version of "NAME-vN.txt", or 0 when file is not a version of name. */
static guint
file_version (const char *file, const char *name)
{
  gsize n = strlen (name);
  if (strncmp (file, name, n) != 0 || strncmp (file + n, "-v", 2) != 0)
    return 0;
  const char *digits = file + n + 2;
  char *end = NULL;
  guint64 v = g_ascii_strtoull (digits, &end, 10);
  if (end == digits || strcmp (end, ".txt") != 0 || v == 0 || v > G_MAXUINT)
    return 0;
  return (guint) v;
}

guint
msr_prompt_template_current_version (const char *name)
{
  g_return_val_if_fail (name != NULL, 0);
  g_auto(GStrv) files = g_resource_enumerate_children (prompts_resource (), RESOURCE_DIR,
                                                       G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  guint best = 0;
  for (guint i = 0; files && files[i]; i++)
    best = MAX (best, file_version (files[i], name));
  return best;
}

GBytes *
msr_prompt_template_lookup_file (const char *file_name, GError **error)
{
  g_autofree char *path = g_strconcat (RESOURCE_DIR, file_name, NULL);
  GBytes *bytes = g_resource_lookup_data (prompts_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (bytes == NULL)
    g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA, "no prompt template '%s' is compiled in", file_name);
  return bytes;
}

void
msr_prompt_template_free (MsrPromptTemplate *t)
{
  if (t == NULL)
    return;
  g_free (t->name);
  g_free (t->id);
  g_free (t->system);
  g_free (t->text);
  g_free (t);
}

/* Calls fn for each {name} in text; stops at the first FALSE. */
typedef gboolean (*PlaceholderFunc) (const char *name, gsize len, gpointer data);

static gboolean
each_placeholder (const char *text, PlaceholderFunc fn, gpointer data)
{
  for (const char *p = strchr (text, '{'); p; p = strchr (p + 1, '{'))
    {
      gsize len = strspn (p + 1, "abcdefghijklmnopqrstuvwxyz_");
      if (len > 0 && p[1 + len] == '}' && !fn (p + 1, len, data))
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  const char * const *allowed;
  char               *bad;
} CheckData;

static gboolean
check_placeholder (const char *name, gsize len, gpointer data)
{
  CheckData *c = data;
  for (guint i = 0; c->allowed[i]; i++)
    if (strlen (c->allowed[i]) == len && strncmp (c->allowed[i], name, len) == 0)
      return TRUE;
  c->bad = g_strndup (name, len);
  return FALSE;
}

MsrPromptTemplate *
msr_prompt_template_load (const char *name, guint version, GError **error)
{
  g_return_val_if_fail (name != NULL, NULL);
  MsrKnowledgeLevel level;
  if (g_strcmp0 (name, MSR_PROMPT_SCENARIO_TEMPLATE) == 0)
    level = MSR_KNOWLEDGE_SCENARIO;
  else if (g_strcmp0 (name, MSR_PROMPT_USER_TEMPLATE) == 0)
    level = MSR_KNOWLEDGE_USER;
  else
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA, "no prompt template '%s' (there are '%s' and '%s')", name,
                   MSR_PROMPT_SCENARIO_TEMPLATE, MSR_PROMPT_USER_TEMPLATE);
      return NULL;
    }
  if (version == 0)
    version = msr_prompt_template_current_version (name);
  g_autofree char *file = g_strdup_printf ("%s-v%u.txt", name, version);
  g_autoptr(GBytes) bytes = msr_prompt_template_lookup_file (file, error);
  if (bytes == NULL)
    return NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  if (!g_utf8_validate (data, (gssize) len, NULL) || memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "prompt template %s: not UTF-8 text", file);
      return NULL;
    }
  /* "[system]\n" SYSTEM "\n[user]\n" USER: two messages in one file, so a
   * version fixes both. */
  static const char sys_tag[] = "[system]\n", user_tag[] = "\n[user]\n";
  g_autofree char *text = g_strndup (data, len);
  char *user = strstr (text, user_tag);
  if (!g_str_has_prefix (text, sys_tag) || user == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "prompt template %s: expected a [system] section then a [user] section", file);
      return NULL;
    }
  *user = '\0';
  g_autoptr(MsrPromptTemplate) t = g_new0 (MsrPromptTemplate, 1);
  t->name = g_strdup (name);
  t->version = version;
  t->level = level;
  t->id = g_strdup_printf ("%s-v%u", name, version);
  t->system = g_strchomp (g_strdup (text + strlen (sys_tag)));
  t->text = g_strchomp (g_strdup (user + strlen (user_tag)));
  /* The system message is sent verbatim: it has no placeholders. */
  static const char * const none[] = { NULL };
  CheckData c = { level == MSR_KNOWLEDGE_SCENARIO ? scenario_placeholders : user_placeholders, NULL };
  CheckData cs = { none, NULL };
  if (!each_placeholder (t->text, check_placeholder, &c) || !each_placeholder (t->system, check_placeholder, &cs))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "prompt template %s: unknown placeholder {%s}%s", file,
                   c.bad ? c.bad : cs.bad, c.bad ? "" : " in the system message");
      g_free (c.bad);
      g_free (cs.bad);
      return NULL;
    }
  return g_steal_pointer (&t);
}

const char *msr_prompt_template_get_name (const MsrPromptTemplate *t) { return t->name; }
guint msr_prompt_template_get_version (const MsrPromptTemplate *t) { return t->version; }
MsrKnowledgeLevel msr_prompt_template_get_level (const MsrPromptTemplate *t) { return t->level; }
const char *msr_prompt_template_get_id (const MsrPromptTemplate *t) { return t->id; }
const char *msr_prompt_template_get_system (const MsrPromptTemplate *t) { return t->system; }
const char *msr_prompt_template_get_text (const MsrPromptTemplate *t) { return t->text; }

char *
msr_prompt_source_name (const char *model, const MsrPromptTemplate *t)
{
  return g_strdup_printf ("%s:%s", model, t->id);
}

/* Replaces each {name} by its value (names and values alternate in kv). */
static char *
render (const char *text, const char * const *kv)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  while (*p)
    {
      const char *open = strchr (p, '{');
      if (open == NULL)
        {
          g_string_append (out, p);
          break;
        }
      g_string_append_len (out, p, open - p);
      gsize len = strspn (open + 1, "abcdefghijklmnopqrstuvwxyz_");
      const char *value = NULL;
      if (len > 0 && open[1 + len] == '}')
        for (guint i = 0; kv[i]; i += 2)
          if (strlen (kv[i]) == len && strncmp (kv[i], open + 1, len) == 0)
            value = kv[i + 1];
      if (value != NULL)
        {
          g_string_append (out, value);
          p = open + len + 2;
        }
      else
        {
          g_string_append_c (out, '{');
          p = open + 1;
        }
    }
  return g_string_free (out, FALSE);
}

/* ---- the builder --------------------------------------------------------- */

struct _MsrPromptBuilder {
  const MsrDataset  *ds;
  MsrPromptTemplate *tmpl;
  MsrKnowledgeLevel  level;
  guint              item_field, user_field;
  /* scenario level */
  char              *scenarios_block;
  /* user level: training rows per user code, CSR, rows ascending */
  guint32           *user_offsets;   /* cardinality + 1 */
  guint32           *user_rows;
};

void
msr_prompt_builder_free (MsrPromptBuilder *b)
{
  if (b == NULL)
    return;
  msr_prompt_template_free (b->tmpl);
  g_free (b->scenarios_block);
  g_free (b->user_offsets);
  g_free (b->user_rows);
  g_free (b);
}

/* A dataset value as one line of prompt text: control characters (line
 * breaks in a CSV field) become spaces. */
static void
append_clean (GString *s, const char *value)
{
  for (const char *p = value; *p; p++)
    g_string_append_c (s, (guchar) *p < 0x20 || *p == 0x7f ? ' ' : *p);
}

/* Locale-independent: the same prompt whatever LC_NUMERIC says. */
static void
append_fixed (GString *s, double v, const char *format)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (s, g_ascii_formatd (buf, sizeof buf, format, v));
}

static void
append_percent (GString *s, guint64 positives, guint64 n)
{
  if (n == 0)
    {
      g_string_append (s, "n/a");
      return;
    }
  append_fixed (s, 100.0 * (double) positives / (double) n, "%.1f");
  g_string_append_c (s, '%');
}

typedef struct {
  gint32  code;
  guint32 n, pos;
} ItemCount;

static int
cmp_item_count (gconstpointer a, gconstpointer b)
{
  const ItemCount *x = a, *y = b;
  if (x->n != y->n)
    return x->n > y->n ? -1 : 1;
  return x->code < y->code ? -1 : x->code > y->code;
}

/* Every scenario's statistics on the training rows, in the dataset's
 * order: the same block for every scenario's prompt. */
static char *
scenarios_block (const MsrDataset *ds, guint item_field)
{
  const guint S = msr_dataset_get_n_scenarios (ds);
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *split = msr_dataset_get_splits (ds);
  const guint8 *label = msr_dataset_get_labels (ds);
  const gint32 *item = msr_dataset_get_field_codes (ds, item_field);
  const guint n_items = msr_dataset_get_field_cardinality (ds, item_field);
  g_autoptr(MsrDatasetStats) stats = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN));

  /* Item counts per scenario, one scenario at a time over a shared array. */
  g_autofree guint32 *count = g_new0 (guint32, n_items);
  g_autofree guint32 *pos = g_new0 (guint32, n_items);
  g_autoptr(GArray) touched = g_array_new (FALSE, FALSE, sizeof (ItemCount));
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint s = 0; s < S; s++)
    g_ptr_array_add (rows, g_array_new (FALSE, FALSE, sizeof (guint32)));
  for (gsize r = 0; r < N; r++)
    if (split[r] == MSR_SPLIT_TRAIN)
      {
        guint32 row = (guint32) r;
        g_array_append_val (g_ptr_array_index (rows, scen[r]), row);
      }

  GString *s = g_string_new (NULL);
  for (guint a = 0; a < S; a++)
    {
      const MsrScenarioStats *st = &stats->scenarios[a];
      const char *desc = msr_dataset_get_scenario_description (ds, a);
      if (a > 0)
        g_string_append (s, "\n\n");
      g_string_append (s, "Scenario \"");
      append_clean (s, msr_dataset_get_scenario_name (ds, a));
      g_string_append_c (s, '"');
      if (desc && *desc)
        {
          g_string_append (s, ": ");
          append_clean (s, desc);
        }
      g_string_append_printf (s, "\n- %" G_GUINT64_FORMAT " interactions by %u users on %u items; ", st->rows,
                              st->users, st->items);
      append_percent (s, st->positives, st->rows);
      g_string_append (s, " positive");
      if (S > 1)
        {
          g_string_append (s, "\n- shared users:");
          for (guint b = 0, first = 1; b < S; b++)
            {
              if (b == a)
                continue;
              double j = stats->user_jaccard[(gsize) a * S + b];
              g_string_append (s, first ? " \"" : ", \"");
              first = 0;
              append_clean (s, msr_dataset_get_scenario_name (ds, b));
              g_string_append (s, "\" ");
              if (isnan (j))
                g_string_append (s, "n/a");
              else
                append_fixed (s, j, "%.2f");
            }
        }
      GArray *rs = g_ptr_array_index (rows, a);
      g_array_set_size (touched, 0);
      for (guint i = 0; i < rs->len; i++)
        {
          guint32 r = g_array_index (rs, guint32, i);
          gint32 c = item[r];
          if (count[c]++ == 0)
            {
              ItemCount ic = { c, 0, 0 };
              g_array_append_val (touched, ic);
            }
          pos[c] += label[r] != 0;
        }
      for (guint i = 0; i < touched->len; i++)
        {
          ItemCount *ic = &g_array_index (touched, ItemCount, i);
          ic->n = count[ic->code];
          ic->pos = pos[ic->code];
          count[ic->code] = pos[ic->code] = 0;
        }
      g_array_sort (touched, cmp_item_count);
      if (touched->len > 0)
        g_string_append (s, "\n- most frequent items:");
      for (guint i = 0; i < touched->len && i < SCENARIO_EXAMPLE_ITEMS; i++)
        {
          const ItemCount *ic = &g_array_index (touched, ItemCount, i);
          g_string_append (s, i ? "; \"" : " \"");
          append_clean (s, msr_dataset_get_value_label (ds, item_field, ic->code));
          g_string_append_printf (s, "\" (%u interaction%s, ", ic->n, ic->n == 1 ? "" : "s");
          append_percent (s, ic->pos, ic->n);
          g_string_append (s, " positive)");
        }
    }
  return g_string_free (s, FALSE);
}

MsrPromptBuilder *
msr_prompt_builder_new (const MsrDataset *ds, MsrKnowledgeLevel level, guint version, GError **error)
{
  g_return_val_if_fail (ds != NULL, NULL);
  const char *name = msr_prompt_template_name_for_level (level);
  if (name == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "MSR Lens writes no %s-level prompts (only scenario "
                   "and user)", msr_knowledge_level_to_string (level));
      return NULL;
    }
  g_autoptr(MsrPromptBuilder) b = g_new0 (MsrPromptBuilder, 1);
  b->tmpl = msr_prompt_template_load (name, version, error);
  if (b->tmpl == NULL)
    return NULL;
  b->ds = ds;
  b->level = level;
  b->item_field = msr_dataset_get_item_field (ds);
  b->user_field = msr_dataset_get_user_field (ds);
  if (level == MSR_KNOWLEDGE_SCENARIO)
    {
      b->scenarios_block = scenarios_block (ds, b->item_field);
      return g_steal_pointer (&b);
    }

  /* Training rows per user: a counting sort keeps each user's rows in row
   * order. */
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint U = msr_dataset_get_field_cardinality (ds, b->user_field);
  const gint32 *user = msr_dataset_get_field_codes (ds, b->user_field);
  const guint8 *split = msr_dataset_get_splits (ds);
  b->user_offsets = g_new0 (guint32, (gsize) U + 1);
  for (gsize r = 0; r < N; r++)
    if (split[r] == MSR_SPLIT_TRAIN)
      b->user_offsets[user[r] + 1]++;
  for (guint u = 0; u < U; u++)
    b->user_offsets[u + 1] += b->user_offsets[u];
  b->user_rows = g_new (guint32, MAX (b->user_offsets[U], 1));
  g_autofree guint32 *fill = g_memdup2 (b->user_offsets, sizeof (guint32) * U);
  for (gsize r = 0; r < N; r++)
    if (split[r] == MSR_SPLIT_TRAIN)
      b->user_rows[fill[user[r]]++] = (guint32) r;
  return g_steal_pointer (&b);
}

const MsrPromptTemplate *msr_prompt_builder_get_template (const MsrPromptBuilder *b) { return b->tmpl; }
MsrKnowledgeLevel msr_prompt_builder_get_level (const MsrPromptBuilder *b) { return b->level; }

/* The scenario index of a name, or -1. */
static int
find_scenario (const MsrDataset *ds, const char *name)
{
  for (guint s = 0; s < msr_dataset_get_n_scenarios (ds); s++)
    if (strcmp (msr_dataset_get_scenario_name (ds, s), name) == 0)
      return (int) s;
  return -1;
}

/* A user's code when the user has training rows, else 0. */
static gint32
user_code (const MsrPromptBuilder *b, const char *key)
{
  gint32 c = msr_dataset_lookup_code (b->ds, b->user_field, key);
  if (c == MSR_UNKNOWN_CODE || b->user_offsets[c + 1] == b->user_offsets[c])
    return MSR_UNKNOWN_CODE;
  return c;
}

gboolean
msr_prompt_builder_has_key (const MsrPromptBuilder *b, const char *key)
{
  g_return_val_if_fail (b != NULL && key != NULL, FALSE);
  if (b->level == MSR_KNOWLEDGE_SCENARIO)
    return find_scenario (b->ds, key) >= 0;
  return user_code (b, key) != MSR_UNKNOWN_CODE;
}

char **
msr_prompt_builder_list_keys (const MsrPromptBuilder *b)
{
  g_autoptr(GStrvBuilder) out = g_strv_builder_new ();
  if (b->level == MSR_KNOWLEDGE_SCENARIO)
    {
      for (guint s = 0; s < msr_dataset_get_n_scenarios (b->ds); s++)
        g_strv_builder_add (out, msr_dataset_get_scenario_name (b->ds, s));
    }
  else
    {
      const guint U = msr_dataset_get_field_cardinality (b->ds, b->user_field);
      for (guint u = 1; u < U; u++)
        if (b->user_offsets[u + 1] > b->user_offsets[u])
          g_strv_builder_add (out, msr_dataset_get_field_value (b->ds, b->user_field, (gint32) u));
    }
  return g_strv_builder_end (out);
}

GPtrArray *
msr_prompt_builder_choose_keys (const MsrPromptBuilder *b, const char * const *keys, guint limit,
                                GPtrArray *unknown)
{
  g_return_val_if_fail (b != NULL && unknown != NULL, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) all = keys ? NULL : msr_prompt_builder_list_keys (b);
  const char * const *list = keys ? keys : (const char * const *) all;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; list[i] && (limit == 0 || out->len < limit); i++)
    {
      if (!g_hash_table_add (seen, (gpointer) list[i]))
        continue;
      if (keys && !msr_prompt_builder_has_key (b, list[i]))
        g_ptr_array_add (unknown, g_strdup (list[i]));
      else
        g_ptr_array_add (out, g_strdup (list[i]));
    }
  return out;
}

static int
cmp_rows_by_time (gconstpointer a, gconstpointer c, gpointer data)
{
  const gint64 *ts = data;
  guint32 ra = *(const guint32 *) a, rc = *(const guint32 *) c;
  if (ts[ra] != ts[rc])
    return ts[ra] < ts[rc] ? -1 : 1;
  return ra < rc ? -1 : ra > rc;
}

static char *
user_interactions (const MsrPromptBuilder *b, gint32 u, guint *n_active)
{
  const MsrDataset *ds = b->ds;
  const guint S = msr_dataset_get_n_scenarios (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *label = msr_dataset_get_labels (ds);
  const gint32 *item = msr_dataset_get_field_codes (ds, b->item_field);
  const gint64 *ts = msr_dataset_get_timestamps (ds);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (guint32));
  GString *s = g_string_new (NULL);
  *n_active = 0;
  for (guint sc = 0; sc < S; sc++)
    {
      g_array_set_size (rows, 0);
      for (guint32 i = b->user_offsets[u]; i < b->user_offsets[u + 1]; i++)
        if (scen[b->user_rows[i]] == sc)
          g_array_append_val (rows, b->user_rows[i]);
      if (rows->len == 0)
        continue;
      /* Oldest first; without timestamps the file's order stands for time. */
      if (ts != NULL)
        g_array_sort_with_data (rows, cmp_rows_by_time, (gpointer) ts);
      if ((*n_active)++ > 0)
        g_string_append (s, "\n\n");
      g_string_append (s, "Scenario \"");
      append_clean (s, msr_dataset_get_scenario_name (ds, sc));
      g_string_append_printf (s, "\" (%u interaction%s", rows->len, rows->len == 1 ? "" : "s");
      guint first = 0;
      if (rows->len > USER_ITEMS_PER_SCENARIO)
        {
          first = rows->len - USER_ITEMS_PER_SCENARIO;
          g_string_append_printf (s, "; the last %u shown", USER_ITEMS_PER_SCENARIO);
        }
      g_string_append (s, "):");
      for (guint i = first; i < rows->len; i++)
        {
          guint32 r = g_array_index (rows, guint32, i);
          g_string_append (s, label[r] ? "\n- [+] " : "\n- [-] ");
          append_clean (s, msr_dataset_get_value_label (ds, b->item_field, item[r]));
        }
    }
  return g_string_free (s, FALSE);
}

char *
msr_prompt_builder_build (const MsrPromptBuilder *b, const char *key, GError **error)
{
  g_return_val_if_fail (b != NULL && key != NULL, NULL);
  const MsrDataset *ds = b->ds;
  const guint S = msr_dataset_get_n_scenarios (ds);
  g_autofree char *n_scenarios = g_strdup_printf ("%u", S);
  GString *clean_name = g_string_new (NULL);
  append_clean (clean_name, msr_dataset_get_name (ds));
  g_autofree char *dataset = g_string_free (clean_name, FALSE);
  if (b->level == MSR_KNOWLEDGE_SCENARIO)
    {
      if (find_scenario (ds, key) < 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no scenario '%s'", msr_dataset_get_name (ds), key);
          return NULL;
        }
      GString *sc = g_string_new (NULL);
      append_clean (sc, key);
      g_autofree char *scenario = g_string_free (sc, FALSE);
      const char *kv[] = { "dataset", dataset, "n_scenarios", n_scenarios, "scenarios", b->scenarios_block,
                           "scenario", scenario, NULL };
      return render (b->tmpl->text, kv);
    }

  gint32 u = user_code (b, key);
  if (u == MSR_UNKNOWN_CODE)
    {
      gboolean known = msr_dataset_lookup_code (ds, b->user_field, key) != MSR_UNKNOWN_CODE;
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, known ? "%s: user '%s' has no training interactions"
                                                              : "%s: no user '%s'", msr_dataset_get_name (ds), key);
      return NULL;
    }
  guint n_active = 0;
  g_autofree char *interactions = user_interactions (b, u, &n_active);
  GString *names = g_string_new (NULL);
  for (guint s = 0; s < S; s++)
    {
      g_string_append (names, s ? ", \"" : "\"");
      append_clean (names, msr_dataset_get_scenario_name (ds, s));
      g_string_append_c (names, '"');
    }
  g_autofree char *scenario_names = g_string_free (names, FALSE);
  g_autofree char *active = g_strdup_printf ("%u", n_active);
  GString *uk = g_string_new (NULL);
  append_clean (uk, key);
  g_autofree char *user = g_string_free (uk, FALSE);
  const char *kv[] = { "dataset", dataset, "n_scenarios", n_scenarios, "scenario_names", scenario_names,
                       "user", user, "n_active", active, "interactions", interactions, NULL };
  return render (b->tmpl->text, kv);
}
