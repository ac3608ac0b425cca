/* Knowledge prompts and Batch API files: the templates compiled in are the
 * files in resources/prompts/; prompts are deterministic and hold training
 * rows only; request files parse line by line; batch output imports with
 * failures reported, malformed lines refused by line, resumes adding
 * nothing twice, and embeddings checked for their dimension. The CLI verbs
 * on the same files. */
#include "config.h"
#include "test-util.h"
#include "test-llm-fixture.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msr-knowledge-batch.h"
#include "msr-prompts.h"

static char *tmp_root;
static char *project_dir;

static char *
tmp_path (const char *name)
{
  static guint counter;
  return g_strdup_printf ("%s/%u-%s", tmp_root, counter++, name);
}

static MsrKnowledge *
new_store (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("knowledge.sqlite");
  MsrKnowledge *k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_WRITE, &error);
  g_assert_no_error (error);
  return k;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* The lines of a file (blank ones dropped). */
static char **
read_lines (const char *path)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; lines[i]; i++)
    if (lines[i][0] != '\0')
      g_strv_builder_add (b, lines[i]);
  return g_strv_builder_end (b);
}

/* ---- templates ----------------------------------------------------------- */

static void
test_templates (void)
{
  g_autoptr(GError) error = NULL;
  /* What is compiled in is byte for byte what resources/prompts/ holds. */
  const char *src = g_getenv ("MSR_SOURCE_DIR");
  g_assert_nonnull (src);
  g_autofree char *dir = g_build_filename (src, "resources", "prompts", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) on_disk = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".txt"))
      g_ptr_array_add (on_disk, g_strdup (name));
  g_auto(GStrv) compiled = msr_prompt_template_list_files ();
  g_assert_cmpuint (g_strv_length (compiled), ==, on_disk->len);
  g_assert_cmpuint (on_disk->len, >=, 2);
  for (guint i = 0; compiled[i]; i++)
    {
      g_autofree char *path = g_build_filename (dir, compiled[i], NULL);
      g_autofree char *text = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (path, &text, &len, NULL));
      g_autoptr(GBytes) bytes = msr_prompt_template_lookup_file (compiled[i], &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), text, len);
    }

  g_assert_cmpuint (msr_prompt_template_current_version ("scenario"), ==, 1);
  g_assert_cmpuint (msr_prompt_template_current_version ("user"), ==, 1);
  g_assert_cmpuint (msr_prompt_template_current_version ("item"), ==, 0);
  g_assert_cmpstr (msr_prompt_template_name_for_level (MSR_KNOWLEDGE_SCENARIO), ==, "scenario");
  g_assert_null (msr_prompt_template_name_for_level (MSR_KNOWLEDGE_ITEM));
  for (guint l = 0; l < 2; l++)
    {
      const char *tn = l ? "user" : "scenario";
      g_autoptr(MsrPromptTemplate) t = msr_prompt_template_load (tn, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (msr_prompt_template_get_name (t), ==, tn);
      g_assert_cmpuint (msr_prompt_template_get_version (t), ==, 1);
      g_autofree char *id = g_strdup_printf ("%s-v1", tn);
      g_assert_cmpstr (msr_prompt_template_get_id (t), ==, id);
      g_assert_cmpint (msr_prompt_template_get_level (t), ==, l ? MSR_KNOWLEDGE_USER : MSR_KNOWLEDGE_SCENARIO);
      g_assert_null (strchr (msr_prompt_template_get_system (t), '{'));
      g_assert_nonnull (strstr (msr_prompt_template_get_text (t), l ? "{interactions}" : "{scenarios}"));
      g_assert_false (g_str_has_suffix (msr_prompt_template_get_text (t), "\n"));
      g_autofree char *source = msr_prompt_source_name ("m", t);
      g_autofree char *want = g_strdup_printf ("m:%s-v1", tn);
      g_assert_cmpstr (source, ==, want);
    }
  g_autoptr(MsrPromptTemplate) none = msr_prompt_template_load ("item", 0, &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
  g_assert_null (none);
  g_clear_error (&error);
  g_autoptr(MsrPromptTemplate) v99 = msr_prompt_template_load ("user", 99, &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "user-v99.txt"));
  g_assert_null (v99);
}

/* ---- prompts ------------------------------------------------------------- */

/* The items a user prompt lists, with their marks: "it7" -> "+" or "-". */
static GHashTable *
listed_items (const char *prompt, GPtrArray *order)
{
  GHashTable *items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) lines = g_strsplit (prompt, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "- [+] ") || g_str_has_prefix (lines[i], "- [-] "))
      {
        g_assert_false (g_hash_table_contains (items, lines[i] + 6));
        g_hash_table_insert (items, g_strdup (lines[i] + 6), g_strndup (lines[i] + 3, 1));
        if (order)
          g_ptr_array_add (order, g_strdup (lines[i] + 6));
      }
  return items;
}

static int
cmp_ts_desc (gconstpointer a, gconstpointer b, gpointer data)
{
  const gint64 *ts = data;
  gint64 x = ts[*(const guint *) a], y = ts[*(const guint *) b];
  return x > y ? -1 : x < y;
}

static void
test_training_only (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint uf = msr_dataset_get_user_field (ds), itf = msr_dataset_get_item_field (ds);
  const gint32 *user = msr_dataset_get_field_codes (ds, uf), *item = msr_dataset_get_field_codes (ds, itf);
  const guint8 *split = msr_dataset_get_splits (ds), *label = msr_dataset_get_labels (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const gint64 *ts = msr_dataset_get_timestamps (ds);
  g_assert_nonnull (ts);
  guint by_split[3] = { 0 };
  for (gsize r = 0; r < N; r++)
    by_split[split[r]]++;
  /* The fixture has rows of every split, or the test proves nothing. */
  g_assert_cmpuint (by_split[MSR_SPLIT_TRAIN], >, 100);
  g_assert_cmpuint (by_split[MSR_SPLIT_VALID], >, 5);
  g_assert_cmpuint (by_split[MSR_SPLIT_TEST], ==, 22);

  g_autoptr(MsrPromptBuilder) b = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_USER, 0, &error);
  g_assert_no_error (error);
  g_auto(GStrv) keys = msr_prompt_builder_list_keys (b);
  g_assert_cmpuint (g_strv_length (keys), ==, 11);
  g_assert_true (g_strv_contains ((const char * const *) keys, "heavy"));
  g_assert_false (g_strv_contains ((const char * const *) keys, "lonely"));
  g_assert_false (msr_prompt_builder_has_key (b, "lonely"));
  g_autofree char *lonely = msr_prompt_builder_build (b, "lonely", &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "no training interactions"));
  g_assert_null (lonely);
  g_clear_error (&error);
  g_autofree char *nobody = msr_prompt_builder_build (b, "nobody", &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);

  for (guint k = 0; keys[k]; k++)
    {
      g_autofree char *prompt = msr_prompt_builder_build (b, keys[k], &error);
      g_assert_no_error (error);
      g_autofree char *again = msr_prompt_builder_build (b, keys[k], &error);
      g_assert_cmpstr (prompt, ==, again);
      g_autofree char *who = g_strdup_printf ("User %s interacted", keys[k]);
      g_assert_nonnull (strstr (prompt, who));
      g_assert_null (strchr (prompt, '{'));
      g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GHashTable) listed = listed_items (prompt, order);
      gint32 u = msr_dataset_lookup_code (ds, uf, keys[k]);
      g_autoptr(GArray) train = g_array_new (FALSE, FALSE, sizeof (guint));
      for (gsize r = 0; r < N; r++)
        {
          if (user[r] != u)
            continue;
          const char *it = msr_dataset_get_field_value (ds, itf, item[r]);
          if (split[r] != MSR_SPLIT_TRAIN)
            {
              /* A validation or test row never reaches a prompt. */
              if (g_hash_table_contains (listed, it))
                g_error ("user %s: %s row %s is in the prompt", keys[k], msr_split_to_string (split[r]), it);
              continue;
            }
          guint row = (guint) r;
          g_array_append_val (train, row);
        }
      if (strcmp (keys[k], "heavy") != 0)
        {
          g_assert_cmpuint (g_hash_table_size (listed), ==, train->len);
          for (guint i = 0; i < train->len; i++)
            {
              guint r = g_array_index (train, guint, i);
              const char *mark = g_hash_table_lookup (listed, msr_dataset_get_field_value (ds, itf, item[r]));
              g_assert_nonnull (mark);
              g_assert_cmpstr (mark, ==, label[r] ? "+" : "-");
            }
          continue;
        }
      /* heavy: the newest 30 of its "beta" rows, oldest first. */
      g_assert_cmpuint (train->len, >, 30);
      g_autofree char *head = g_strdup_printf ("Scenario \"beta\" (%u interactions; the last 30 shown):", train->len);
      g_assert_nonnull (strstr (prompt, head));
      g_array_sort_with_data (train, cmp_ts_desc, (gpointer) ts);
      g_assert_cmpuint (order->len, ==, 30);
      for (guint i = 0; i < 30; i++)
        {
          guint r = g_array_index (train, guint, 29 - i);
          g_assert_cmpuint (scen[r], ==, 1);
          g_assert_cmpstr (order->pdata[i], ==, msr_dataset_get_field_value (ds, itf, item[r]));
        }
    }

  /* A second builder makes the same bytes. */
  g_autoptr(MsrPromptBuilder) b2 = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_USER, 1, &error);
  g_assert_no_error (error);
  g_autofree char *p1 = msr_prompt_builder_build (b, "u3", &error);
  g_autofree char *p2 = msr_prompt_builder_build (b2, "u3", &error);
  g_assert_cmpstr (p1, ==, p2);

  /* Scenario prompts: statistics of the training rows, and no item of
   * another split among the examples. */
  g_autoptr(MsrPromptBuilder) sb = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_SCENARIO, 0, &error);
  g_assert_no_error (error);
  g_auto(GStrv) skeys = msr_prompt_builder_list_keys (sb);
  g_assert_cmpuint (g_strv_length (skeys), ==, 3);
  g_assert_cmpstr (skeys[2], ==, MSR_TEST_LLM_SCENARIO_C);
  g_autofree char *first = NULL;
  for (guint s = 0; s < 3; s++)
    {
      g_autofree char *prompt = msr_prompt_builder_build (sb, skeys[s], &error);
      g_assert_no_error (error);
      g_autofree char *consider = g_strdup_printf ("Consider the scenario \"%s\".", skeys[s]);
      g_assert_nonnull (strstr (prompt, consider));
      guint rows = 0;
      for (gsize r = 0; r < N; r++)
        {
          if (split[r] == MSR_SPLIT_TRAIN)
            {
              rows += scen[r] == s;
              continue;
            }
          g_autofree char *quoted = g_strdup_printf ("\"%s\"", msr_dataset_get_field_value (ds, itf, item[r]));
          g_assert_null (strstr (prompt, quoted));
        }
      g_autofree char *stats = g_strdup_printf ("Scenario \"%s\"\n- %u interactions by ", skeys[s], rows);
      g_assert_nonnull (strstr (prompt, stats));
      /* The block is the same in every scenario's prompt. */
      const char *block = strstr (prompt, "Scenario \"alpha\"");
      const char *end = strstr (prompt, "\n\nConsider");
      g_autofree char *part = g_strndup (block, end - block);
      if (first == NULL)
        first = g_steal_pointer (&part);
      else
        g_assert_cmpstr (part, ==, first);
    }
  g_autoptr(MsrPromptBuilder) none = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_ITEM, 0, &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_null (none);
}

/* MovieLens-100K: items are listed by title. */
static void
test_movielens_titles (void)
{
  MSR_TEST_REQUIRE_SHARED (ml, "movielens-100k/u.item");
  g_autoptr(GError) error = NULL;
  g_autofree char *data = g_path_get_dirname (ml);
  g_autofree char *dir = tmp_path ("ml");
  MsrSplitOptions split;
  msr_split_options_init (&split);
  g_autoptr(MsrProject) project = msr_project_create_movielens (dir, data, MSR_MOVIELENS_SCENARIOS_GENRE, &split,
                                                                &error);
  g_assert_no_error (error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(MsrPromptBuilder) b = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_USER, 0, &error);
  g_assert_no_error (error);
  g_autofree char *prompt = msr_prompt_builder_build (b, "1", &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (prompt, "\n- [+] Toy Story (1995)\n"));
  g_autoptr(MsrPromptBuilder) sb = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_SCENARIO, 0, &error);
  g_assert_no_error (error);
  g_autofree char *sp = msr_prompt_builder_build (sb, "Family", &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (sp, "\"Toy Story (1995)\" ("));
}

/* ---- request files ------------------------------------------------------- */

static void
test_requests (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  g_autoptr(MsrPromptBuilder) b = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_USER, 0, &error);
  g_assert_no_error (error);
  const MsrPromptTemplate *t = msr_prompt_builder_get_template (b);
  g_autofree char *dir = tmp_path ("requests");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_autofree char *path = g_build_filename (dir, "users.jsonl", NULL);
  const char *keys[] = { "u2", "nobody", "u1", "u2", "lonely", NULL };
  MsrKnowledgeRequestOptions o = { .level = MSR_KNOWLEDGE_USER, .keys = keys, .model = "m1" };
  for (guint pass = 0; pass < 2; pass++)
    {
      /* Writing again replaces the file, through a temporary one. */
      g_autoptr(MsrKnowledgeRequestReport) r = msr_knowledge_write_requests (NULL, ds, &o, path, NULL, NULL, NULL,
                                                                             &error);
      g_assert_no_error (error);
      g_assert_cmpuint (r->n_chat, ==, 2);
      g_assert_cmpuint (r->n_embeddings, ==, 0);
      g_assert_cmpstr (r->template_id, ==, "user-v1");
      g_assert_cmpuint (r->unknown->len, ==, 2);
      g_assert_cmpstr (r->unknown->pdata[0], ==, "nobody");
      g_assert_cmpstr (r->unknown->pdata[1], ==, "lonely");
    }
  g_autoptr(GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_dir_read_name (d), ==, "users.jsonl");
  g_assert_null (g_dir_read_name (d));

  g_auto(GStrv) lines = read_lines (path);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  const char *want[] = { "u2", "u1" };
  for (guint i = 0; lines[i]; i++)
    {
      g_autoptr(JsonNode) node = parse_json (lines[i]);
      JsonObject *o1 = json_node_get_object (node);
      g_autofree char *id = g_strdup_printf ("user:%s", want[i]);
      g_assert_cmpstr (json_object_get_string_member (o1, "custom_id"), ==, id);
      g_assert_cmpstr (json_object_get_string_member (o1, "method"), ==, "POST");
      g_assert_cmpstr (json_object_get_string_member (o1, "url"), ==, "/v1/chat/completions");
      JsonObject *body = json_object_get_object_member (o1, "body");
      g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "m1");
      g_assert_cmpint (json_object_get_int_member (body, "temperature"), ==, 0);
      JsonArray *msgs = json_object_get_array_member (body, "messages");
      g_assert_cmpuint (json_array_get_length (msgs), ==, 2);
      JsonObject *sys = json_array_get_object_element (msgs, 0), *usr = json_array_get_object_element (msgs, 1);
      g_assert_cmpstr (json_object_get_string_member (sys, "role"), ==, "system");
      g_assert_cmpstr (json_object_get_string_member (sys, "content"), ==, msr_prompt_template_get_system (t));
      g_assert_cmpstr (json_object_get_string_member (usr, "role"), ==, "user");
      g_autofree char *prompt = msr_prompt_builder_build (b, want[i], &error);
      g_assert_cmpstr (json_object_get_string_member (usr, "content"), ==, prompt);
    }

  /* Every key, cut to a limit; scenario keys with a colon round-trip. */
  MsrKnowledgeRequestOptions all = { .level = MSR_KNOWLEDGE_USER, .limit = 4, .model = "m1" };
  g_autoptr(MsrKnowledgeRequestReport) r4 = msr_knowledge_write_requests (NULL, ds, &all, path, NULL, NULL, NULL,
                                                                          &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r4->n_chat, ==, 4);
  MsrKnowledgeRequestOptions sc = { .level = MSR_KNOWLEDGE_SCENARIO, .model = "m1" };
  g_autoptr(MsrKnowledgeRequestReport) rs = msr_knowledge_write_requests (NULL, ds, &sc, path, NULL, NULL, NULL,
                                                                          &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rs->n_chat, ==, 3);
  g_auto(GStrv) slines = read_lines (path);
  g_autoptr(JsonNode) last = parse_json (slines[2]);
  const char *cid = json_object_get_string_member (json_node_get_object (last), "custom_id");
  g_assert_cmpstr (cid, ==, "scenario:" MSR_TEST_LLM_SCENARIO_C);
  MsrKnowledgeLevel level;
  g_autofree char *key = NULL;
  gboolean embed = TRUE;
  g_assert_true (msr_knowledge_parse_custom_id (cid, &level, &key, &embed));
  g_assert_cmpint (level, ==, MSR_KNOWLEDGE_SCENARIO);
  g_assert_cmpstr (key, ==, MSR_TEST_LLM_SCENARIO_C);
  g_assert_false (embed);
  g_autofree char *ekey = NULL;
  g_assert_true (msr_knowledge_parse_custom_id ("embed:user:a:b", &level, &ekey, &embed));
  g_assert_true (embed);
  g_assert_cmpstr (ekey, ==, "a:b");
  g_assert_false (msr_knowledge_parse_custom_id ("user:", NULL, NULL, NULL));
  g_assert_false (msr_knowledge_parse_custom_id ("movie:1", NULL, NULL, NULL));
  g_assert_false (msr_knowledge_parse_custom_id ("embed:7", NULL, NULL, NULL));

  /* An item level has no prompts; a missing folder is an error naming the file. */
  MsrKnowledgeRequestOptions items = { .level = MSR_KNOWLEDGE_ITEM, .model = "m1" };
  g_autoptr(MsrKnowledgeRequestReport) ri = msr_knowledge_write_requests (NULL, ds, &items, path, NULL, NULL, NULL,
                                                                          &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_null (ri);
  g_clear_error (&error);
  g_autofree char *nowhere = g_build_filename (dir, "no", "such", "x.jsonl", NULL);
  g_autoptr(MsrKnowledgeRequestReport) rn = msr_knowledge_write_requests (NULL, ds, &all, nowhere, NULL, NULL, NULL,
                                                                          &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_assert_null (rn);
  g_clear_error (&error);

  /* --out onto a symbolic link replaces the file it names, not the link; onto
   * something not a regular file (/dev/null, a FIFO) writes through instead of
   * renaming a file over it (which replaced the device or pipe). */
  g_autofree char *real = g_build_filename (dir, "real.jsonl", NULL);
  g_autofree char *link = g_build_filename (dir, "link.jsonl", NULL);
  g_assert_true (g_file_set_contents (real, "old\n", -1, NULL));
  g_assert_cmpint (symlink ("real.jsonl", link), ==, 0);
  g_autoptr(MsrKnowledgeRequestReport) rl = msr_knowledge_write_requests (NULL, ds, &sc, link, NULL, NULL, NULL,
                                                                          &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_auto(GStrv) rlines = read_lines (real);
  g_assert_cmpuint (g_strv_length (rlines), ==, 3);
  /* A FIFO, its read end opened first without blocking, so the requests
   * (a few kB) wait in the pipe's buffer and nothing can hang. */
  g_autofree char *fifo = g_build_filename (dir, "fifo.jsonl", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  int rfd = g_open (fifo, O_RDONLY | O_NONBLOCK, 0);
  g_assert_cmpint (rfd, >=, 0);
  g_autoptr(MsrKnowledgeRequestReport) rf = msr_knowledge_write_requests (NULL, ds, &sc, fifo, NULL, NULL, NULL,
                                                                          &error);
  g_assert_no_error (error);
  g_assert_nonnull (rf);
  GStatBuf sb;
  g_assert_cmpint (g_stat (fifo, &sb), ==, 0);
  g_assert_true (S_ISFIFO (sb.st_mode));
  char buf[256];
  g_assert_cmpint (read (rfd, buf, sizeof buf), >, 0);
  g_assert_cmpint (g_strstr_len (buf, sizeof buf, "scenario:") != NULL, ==, TRUE);
  close (rfd);
}

/* ---- batch output -------------------------------------------------------- */

static char *
chat_output (const char *custom_id, const char *model, const char *content)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, "batch_req_1");
  json_builder_set_member_name (b, "custom_id");
  json_builder_add_string_value (b, custom_id);
  json_builder_set_member_name (b, "response");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status_code");
  json_builder_add_int_value (b, 200);
  json_builder_set_member_name (b, "request_id");
  json_builder_add_string_value (b, "req");
  json_builder_set_member_name (b, "body");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "object");
  json_builder_add_string_value (b, "chat.completion");
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "choices");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "index");
  json_builder_add_int_value (b, 0);
  json_builder_set_member_name (b, "message");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "assistant");
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, content);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_add_null_value (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static char *
embedding_output (const char *custom_id, const char *model, const float *v, guint dim)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "{\"id\":\"batch_req_2\",\"custom_id\":\"%s\",\"response\":{\"status_code\":200,"
                          "\"body\":{\"object\":\"list\",\"model\":\"%s\",\"data\":[{\"object\":\"embedding\","
                          "\"index\":0,\"embedding\":[", custom_id, model);
  for (guint i = 0; i < dim; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (s, "%s%s", i ? "," : "", g_ascii_dtostr (buf, sizeof buf, v[i]));
    }
  g_string_append (s, "]}],\"usage\":{\"prompt_tokens\":3}}},\"error\":null}");
  return g_string_free (s, FALSE);
}

static char *
write_file (const char *name, GPtrArray *lines)
{
  char *path = tmp_path (name);
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (s, "%s\n", (const char *) lines->pdata[i]);
  g_assert_true (g_file_set_contents (path, s->str, (gssize) s->len, NULL));
  g_string_free (s, TRUE);
  return path;
}

static guint
count_entries (MsrKnowledge *k, int level)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) e = msr_knowledge_list_entries (k, level, NULL, FALSE, &error);
  g_assert_no_error (error);
  return e->len;
}

static guint
count_imports (MsrKnowledge *k)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) im = msr_knowledge_list_imports (k, &error);
  g_assert_no_error (error);
  return im->len;
}

static void
test_import (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  g_autoptr(MsrKnowledge) k = new_store ();
  g_autoptr(MsrPromptBuilder) b = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_USER, 0, &error);
  g_assert_no_error (error);

  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  for (guint u = 1; u <= 6; u++)
    {
      g_autofree char *id = g_strdup_printf ("user:u%u", u);
      g_autofree char *text = g_strdup_printf ("User u%u likes \"odd\" things.\nSecond line ✓", u);
      g_ptr_array_add (lines, chat_output (id, "m1-2024", text));
    }
  g_ptr_array_add (lines, g_strdup (""));  /* blank lines are skipped */
  g_ptr_array_add (lines, g_strdup ("{\"id\":\"b8\",\"custom_id\":\"user:u7\",\"response\":{\"status_code\":500,"
                                    "\"body\":{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}},"
                                    "\"error\":null}"));
  g_ptr_array_add (lines, g_strdup ("{\"id\":\"b9\",\"custom_id\":\"user:u8\",\"response\":null,\"error\":"
                                    "{\"code\":\"batch_expired\",\"message\":\"not done in time\"}}"));
  g_ptr_array_add (lines, g_strdup ("{\"id\":\"b10\",\"custom_id\":\"user:u9\",\"response\":{\"status_code\":200,"
                                    "\"body\":{\"model\":\"m1-2024\",\"choices\":[]}},\"error\":null}"));
  g_ptr_array_add (lines, chat_output ("user:nobody", "m1-2024", "who?"));
  g_ptr_array_add (lines, chat_output ("scenario:" MSR_TEST_LLM_SCENARIO_C, "m1-2024", "The third one."));
  g_autofree char *path = write_file ("out.jsonl", lines);
  g_assert_true (msr_knowledge_is_batch_output (path));

  MsrKnowledgeBatchImport o = { .path = path, .batch = 2 };
  g_autoptr(MsrKnowledgeBatchReport) r = msr_knowledge_import_batch (k, &o, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->lines, ==, 11);
  g_assert_cmpuint (r->added, ==, 7);
  g_assert_cmpuint (r->already, ==, 0);
  g_assert_cmpuint (r->failed->len, ==, 3);
  const MsrKnowledgeFailure *f0 = r->failed->pdata[0], *f1 = r->failed->pdata[1], *f2 = r->failed->pdata[2];
  g_assert_cmpstr (f0->custom_id, ==, "user:u7");
  g_assert_cmpuint (f0->line, ==, 8);
  g_assert_nonnull (strstr (f0->message, "HTTP 500"));
  g_assert_nonnull (strstr (f0->message, "overloaded"));
  g_assert_cmpuint (f1->line, ==, 9);
  g_assert_nonnull (strstr (f1->message, "batch_expired"));
  g_assert_cmpuint (f2->line, ==, 10);
  g_assert_nonnull (strstr (f2->message, "choices"));
  g_assert_cmpuint (r->unknown->len, ==, 1);
  g_assert_cmpstr (r->unknown->pdata[0], ==, "user:nobody");
  g_assert_cmpuint (r->sources->len, ==, 2);
  g_assert_cmpstr (r->sources->pdata[0], ==, "m1-2024:user-v1");
  g_assert_cmpstr (r->sources->pdata[1], ==, "m1-2024:scenario-v1");

  g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "u3", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (e);
  g_autofree char *prompt = msr_prompt_builder_build (b, "u3", &error);
  g_assert_cmpstr (e->prompt, ==, prompt);
  g_assert_cmpstr (e->response, ==, "User u3 likes \"odd\" things.\nSecond line ✓");
  g_assert_cmpstr (e->source, ==, "m1-2024:user-v1");
  g_assert_cmpstr (e->llm, ==, "m1-2024");
  g_assert_cmpstr (e->template_name, ==, "user");
  g_assert_cmpuint (e->template_version, ==, 1);
  g_assert_cmpint (e->import_id, ==, r->import_id);
  g_autoptr(MsrKnowledgeEntry) se = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_SCENARIO, MSR_TEST_LLM_SCENARIO_C,
                                                             NULL, &error);
  g_assert_nonnull (se);
  g_assert_cmpstr (se->source, ==, "m1-2024:scenario-v1");
  g_assert_nonnull (strstr (se->prompt, "Consider the scenario \"" MSR_TEST_LLM_SCENARIO_C "\"."));
  g_autoptr(MsrKnowledgeEntry) missing = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "u7", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (missing);

  g_autoptr(GPtrArray) imports = msr_knowledge_list_imports (k, &error);
  const MsrKnowledgeImport *im = imports->pdata[0];
  g_assert_cmpstr (im->kind, ==, "batch");
  g_assert_true (im->complete);
  g_assert_cmpstr (im->llm, ==, "m1-2024");
  g_assert_cmpuint (strlen (im->source_sha256), ==, 64);
  g_autoptr(JsonNode) details = parse_json (im->details);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (details), "added"), ==, 7);

  /* Again: nothing twice. */
  g_autoptr(MsrKnowledgeBatchReport) again = msr_knowledge_import_batch (k, &o, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->added, ==, 0);
  g_assert_cmpuint (again->already, ==, 7);
  g_assert_cmpuint (count_entries (k, -1), ==, 7);

  /* A later file with the rest adds only the rest; --source overrides. */
  g_autoptr(GPtrArray) more = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (more, chat_output ("user:u6", "m1-2024", "again"));
  g_ptr_array_add (more, chat_output ("user:u7", "m1-2024", "now it worked"));
  g_autofree char *path2 = write_file ("more.jsonl", more);
  g_autoptr(MsrKnowledgeBatchReport) r2 = msr_knowledge_import_batch (k, &(MsrKnowledgeBatchImport) { .path = path2 },
                                                                      ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r2->added, ==, 1);
  g_assert_cmpuint (r2->already, ==, 1);
  g_autoptr(MsrKnowledgeBatchReport) r3 = msr_knowledge_import_batch (
      k, &(MsrKnowledgeBatchImport) { .path = path2, .source = "mine" }, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r3->added, ==, 2);
  g_autoptr(MsrKnowledgeEntry) mine = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "u7", "mine", &error);
  g_assert_nonnull (mine);
  g_assert_cmpstr (mine->llm, ==, "m1-2024");
}

static void
test_import_malformed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  g_autoptr(MsrKnowledge) k = new_store ();
  static const struct { const char *line; const char *says; } bad[] = {
    { "{\"custom_id\": \"user:u1\", \"response\": {\"status_code\": 200", "not JSON" },
    { "[1, 2]", "not a JSON object" },
    { "{\"response\": null, \"error\": null}", "custom_id" },
    { "{\"custom_id\": \"u1\", \"response\": null, \"error\": null}", "neither LEVEL:KEY" },
    { "{\"custom_id\": \"item:it1\", \"response\": null, \"error\": null}", "no item-level prompts" },
    { "{\"custom_id\": \"user:u1\", \"response\": \"ok\", \"error\": null}", "\"response\"" },
    { "{\"custom_id\": \"user:u1\", \"response\": {\"body\": {}}, \"error\": null}", "status_code" },
  };
  g_autofree char *good = chat_output ("user:u1", "m", "fine");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (lines, g_strdup (good));
      g_ptr_array_add (lines, g_strdup (bad[i].line));
      g_autofree char *path = write_file ("bad.jsonl", lines);
      g_autoptr(MsrKnowledgeBatchReport) r = msr_knowledge_import_batch (
          k, &(MsrKnowledgeBatchImport) { .path = path }, ds, NULL, NULL, NULL, &error);
      g_assert_null (r);
      g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
      g_autofree char *where = g_strdup_printf ("%s: line 2: ", path);
      if (!g_str_has_prefix (error->message, where) || strstr (error->message, bad[i].says) == NULL)
        g_error ("case %u: '%s' does not start with '%s' and say '%s'", i, error->message, where, bad[i].says);
      g_clear_error (&error);
    }
  /* A line nested deeper than json-glib's recursion can take (it used to
   * overflow the stack: SIGSEGV) is refused like any malformed line. */
  {
    GString *deep = g_string_new ("{\"custom_id\": \"user:u1\", \"x\": ");
    for (guint i = 0; i < 200000; i++)
      g_string_append_c (deep, '[');
    for (guint i = 0; i < 200000; i++)
      g_string_append_c (deep, ']');
    g_string_append_c (deep, '}');
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (lines, g_strdup (good));
    g_ptr_array_add (lines, g_string_free (deep, FALSE));
    g_autofree char *path = write_file ("deep.jsonl", lines);
    g_autoptr(MsrKnowledgeBatchReport) r = msr_knowledge_import_batch (
        k, &(MsrKnowledgeBatchImport) { .path = path }, ds, NULL, NULL, NULL, &error);
    g_assert_null (r);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    g_autofree char *where = g_strdup_printf ("%s: line 2: JSON nested more than", path);
    g_assert_true (g_str_has_prefix (error->message, where));
    g_clear_error (&error);
  }
  {
    /* An empty file is the wrong file, not an import of nothing. */
    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func (g_free);
    g_autofree char *path = write_file ("empty.jsonl", none);
    g_autoptr(MsrKnowledgeBatchReport) r = msr_knowledge_import_batch (
        k, &(MsrKnowledgeBatchImport) { .path = path }, ds, NULL, NULL, NULL, &error);
    g_assert_null (r);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "no Batch API output lines"));
    g_clear_error (&error);
  }
  /* Refused before anything was stored or recorded. */
  g_assert_cmpuint (count_entries (k, -1), ==, 0);
  g_assert_cmpuint (count_imports (k), ==, 0);
  g_autofree char *nowhere = tmp_path ("missing.jsonl");
  g_autoptr(MsrKnowledgeBatchReport) r = msr_knowledge_import_batch (
      k, &(MsrKnowledgeBatchImport) { .path = nowhere }, ds, NULL, NULL, NULL, &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_assert_null (r);
}

static void
vector_for (guint u, float *v, guint dim)
{
  for (guint i = 0; i < dim; i++)
    v[i] = (float) u + 0.25f * (float) i - 1.5f;
}

static void
test_import_embeddings (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  g_autoptr(MsrKnowledge) k = new_store ();
  g_autoptr(GPtrArray) answers = g_ptr_array_new_with_free_func (g_free);
  for (guint u = 1; u <= 4; u++)
    {
      g_autofree char *id = g_strdup_printf ("user:u%u", u);
      g_autofree char *text = g_strdup_printf ("Profile of u%u", u);
      g_ptr_array_add (answers, chat_output (id, "m1", text));
    }
  g_autofree char *apath = write_file ("answers.jsonl", answers);
  g_autoptr(MsrKnowledgeBatchReport) ra = msr_knowledge_import_batch (
      k, &(MsrKnowledgeBatchImport) { .path = apath }, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ra->added, ==, 4);

  /* The second pass: embeddings requests for the stored answers. */
  g_autofree char *rpath = tmp_path ("embed.jsonl");
  const char *keys[] = { "u1", "u2", "u3", "u4", "u5", NULL };
  MsrKnowledgeRequestOptions ro = { .level = MSR_KNOWLEDGE_USER, .keys = keys, .embeddings_model = "e1",
                                    .embed_only = TRUE };
  g_autoptr(MsrKnowledgeRequestReport) rr = msr_knowledge_write_requests (k, ds, &ro, rpath, NULL, NULL, NULL,
                                                                          &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rr->n_chat, ==, 0);
  g_assert_cmpuint (rr->n_embeddings, ==, 4);
  g_assert_cmpstr (rr->source, ==, "m1:user-v1");
  g_assert_cmpstr (rr->encoder, ==, "endpoint:e1");
  g_assert_cmpuint (rr->no_response->len, ==, 1);
  g_assert_cmpstr (rr->no_response->pdata[0], ==, "u5");
  g_auto(GStrv) req = read_lines (rpath);
  g_assert_cmpuint (g_strv_length (req), ==, 4);
  g_autoptr(JsonNode) first = parse_json (req[0]);
  JsonObject *fo = json_node_get_object (first);
  g_assert_cmpstr (json_object_get_string_member (fo, "custom_id"), ==, "embed:user:u1");
  g_assert_cmpstr (json_object_get_string_member (fo, "url"), ==, "/v1/embeddings");
  JsonObject *fb = json_object_get_object_member (fo, "body");
  g_assert_cmpstr (json_object_get_string_member (fb, "model"), ==, "e1");
  g_assert_cmpstr (json_object_get_string_member (fb, "input"), ==, "Profile of u1");

  /* Their output: dimension 6; integers are numbers too. */
  const guint dim = 6;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  for (guint u = 1; u <= 4; u++)
    {
      float v[6];
      vector_for (u, v, dim);
      g_autofree char *id = g_strdup_printf ("embed:user:u%u", u);
      g_ptr_array_add (out, embedding_output (id, "e1", v, dim));
    }
  g_ptr_array_add (out, g_strdup ("{\"custom_id\":\"embed:user:u5\",\"response\":{\"status_code\":200,\"body\":"
                                  "{\"model\":\"e1\",\"data\":[{\"embedding\":[1,2,3,4,5,6]}]}},\"error\":null}"));
  g_autofree char *epath = write_file ("embed-out.jsonl", out);
  MsrKnowledgeBatchImport eo = { .path = epath };
  g_autoptr(MsrKnowledgeBatchReport) re = msr_knowledge_import_batch (k, &eo, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (re->vectors, ==, 4);
  g_assert_cmpuint (re->vectors_replaced, ==, 0);
  g_assert_cmpuint (re->unknown->len, ==, 1);  /* u5 has no answer to embed */
  g_assert_cmpstr (re->unknown->pdata[0], ==, "embed:user:u5");
  g_assert_cmpuint (re->encoders->len, ==, 1);
  g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, &error);
  g_assert_cmpuint (encoders->len, ==, 1);
  const MsrKnowledgeEncoder *enc = encoders->pdata[0];
  g_assert_cmpstr (enc->name, ==, "endpoint:e1");
  g_assert_cmpstr (enc->kind, ==, "endpoint");
  g_assert_cmpuint (enc->dim, ==, dim);
  g_assert_cmpuint (enc->n_vectors, ==, 4);
  g_autoptr(MsrKnowledgeVectors) vecs = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "endpoint:e1", NULL,
                                                                   &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vecs->n, ==, 4);
  g_assert_cmpstr (vecs->source, ==, "m1:user-v1");
  for (guint u = 1; u <= 4; u++)
    {
      g_autofree char *key = g_strdup_printf ("u%u", u);
      int row = msr_knowledge_vectors_find (vecs, key);
      g_assert_cmpint (row, >=, 0);
      float v[6];
      vector_for (u, v, dim);
      g_assert_cmpmem (vecs->vectors + (gsize) row * dim, dim * sizeof (float), v, sizeof v);
    }

  /* Again: the vectors are replaced, not added. Requests skip them now. */
  g_autoptr(MsrKnowledgeBatchReport) re2 = msr_knowledge_import_batch (k, &eo, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (re2->vectors, ==, 0);
  g_assert_cmpuint (re2->vectors_replaced, ==, 4);
  g_autoptr(MsrKnowledgeRequestReport) rr2 = msr_knowledge_write_requests (k, ds, &ro, rpath, NULL, NULL, NULL,
                                                                           &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rr2->n_embeddings, ==, 0);
  g_assert_cmpuint (rr2->n_embedded, ==, 4);

  /* A vector of another dimension: refused, naming the line, nothing stored. */
  for (guint c = 0; c < 2; c++)
    {
      g_autoptr(GPtrArray) wrong = g_ptr_array_new_with_free_func (g_free);
      float v[7];
      vector_for (9, v, 7);
      const char *model = c ? "e1" : "e2";
      g_ptr_array_add (wrong, embedding_output ("embed:user:u1", model, v, c ? 7 : 3));
      g_ptr_array_add (wrong, embedding_output ("embed:user:u2", model, v, c ? 6 : 7));
      g_autofree char *wpath = write_file ("wrong.jsonl", wrong);
      g_autoptr(MsrKnowledgeBatchReport) rw = msr_knowledge_import_batch (
          k, &(MsrKnowledgeBatchImport) { .path = wpath }, ds, NULL, NULL, NULL, &error);
      g_assert_null (rw);
      g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
      g_autofree char *where = g_strdup_printf ("%s: line %u: an embedding of dimension 7", wpath, c ? 1 : 2);
      g_assert_true (g_str_has_prefix (error->message, where));
      g_assert_nonnull (strstr (error->message, c ? "(from the knowledge store)" : "(from line 1)"));
      g_clear_error (&error);
    }
  g_autoptr(GPtrArray) after = msr_knowledge_list_encoders (k, &error);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_cmpuint (((MsrKnowledgeEncoder *) after->pdata[0])->n_vectors, ==, 4);

  /* Two sources answer about u1: an embedding must say whose answer it is. */
  g_autoptr(GPtrArray) other = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (other, chat_output ("user:u1", "m2", "Another view of u1"));
  g_autofree char *opath = write_file ("other.jsonl", other);
  g_autoptr(MsrKnowledgeBatchReport) ro2 = msr_knowledge_import_batch (
      k, &(MsrKnowledgeBatchImport) { .path = opath }, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(MsrKnowledgeBatchReport) amb = msr_knowledge_import_batch (k, &eo, ds, NULL, NULL, NULL, &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "line 1: user 'u1' has responses from several sources"));
  g_assert_null (amb);
  g_clear_error (&error);
  g_autoptr(MsrKnowledgeBatchReport) named = msr_knowledge_import_batch (
      k, &(MsrKnowledgeBatchImport) { .path = epath, .source = "m1:user-v1" }, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (named->vectors_replaced, ==, 4);
}

static void
test_is_batch_output (void)
{
  g_autofree char *a = tmp_path ("a.txt"), *b = tmp_path ("b.csv"), *c = tmp_path ("c.jsonl");
  g_assert_true (g_file_set_contents (a, "  \n {\"custom_id\": 1}", -1, NULL));
  g_assert_true (g_file_set_contents (b, "user_id,text\n1,{x}\n", -1, NULL));
  g_assert_true (msr_knowledge_is_batch_output (a));
  g_assert_false (msr_knowledge_is_batch_output (b));
  g_assert_true (msr_knowledge_is_batch_output (c));  /* by its name, even missing */
}

/* ---- the CLI ------------------------------------------------------------- */

static void
test_cli (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *parent = tmp_path ("cli");
  g_assert_cmpint (g_mkdir (parent, 0755), ==, 0);
  g_autofree char *dir = msr_test_llm_project (parent, "p");
  g_autofree char *req = g_build_filename (parent, "req.jsonl", NULL);
  g_autofree char *out = NULL, *err = NULL;
  int status = msr_test_run_cli (&out, &err, "knowledge", "prompts", dir, "--level", "user", "--users", "u1, u2,nobody",
                        "--model", "m1", "--out", req, "--json", NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr(JsonNode) rep = parse_json (out);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (rep), "chat_requests"), ==, 2);
  g_auto(GStrv) lines = read_lines (req);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);

  /* The batch's answers, back through knowledge import. */
  g_autoptr(GPtrArray) answers = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; lines[i]; i++)
    {
      g_autoptr(JsonNode) node = parse_json (lines[i]);
      const char *id = json_object_get_string_member (json_node_get_object (node), "custom_id");
      g_ptr_array_add (answers, chat_output (id, "m1", "An answer"));
    }
  g_ptr_array_add (answers, g_strdup ("{\"custom_id\":\"user:u3\",\"response\":{\"status_code\":429,\"body\":{}},"
                                      "\"error\":null}"));
  g_autofree char *ans = write_file ("answers.jsonl", answers);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = msr_test_run_cli (&out, &err, "knowledge", "import", dir, ans, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "2 answers added"));
  g_assert_nonnull (strstr (out, "line 3 (user:u3): HTTP 429"));
  g_assert_nonnull (strstr (out, "source m1:user-v1"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = msr_test_run_cli (&out, &err, "knowledge", "import", dir, ans, "--json", NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr(JsonNode) again = parse_json (out);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (again), "already_stored"), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* CSV options do not apply to batch output. */
  status = msr_test_run_cli (&out, &err, "knowledge", "import", dir, ans, "--level", "user", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "do not apply"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A malformed line: exit 1, the file and line named. */
  g_autoptr(GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (bad, chat_output ("user:u4", "m1", "fine"));
  g_ptr_array_add (bad, g_strdup ("{oops"));
  g_autofree char *badp = write_file ("bad.jsonl", bad);
  status = msr_test_run_cli (&out, &err, "knowledge", "import", dir, badp, NULL);
  g_assert_cmpint (status, ==, 1);
  g_autofree char *where = g_strdup_printf ("%s: line 2:", badp);
  g_assert_nonnull (strstr (err, where));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* The second pass writes embeddings requests for the stored answers. */
  g_autofree char *emb = g_build_filename (parent, "emb.jsonl", NULL);
  status = msr_test_run_cli (&out, &err, "knowledge", "prompts", dir, "--level", "user", "--embed-responses",
                    "--embeddings-model", "e1", "--out", emb, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "2 embeddings requests (responses of m1:user-v1, model e1)"));
  g_auto(GStrv) elines = read_lines (emb);
  g_assert_cmpuint (g_strv_length (elines), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = msr_test_run_cli (&out, &err, "knowledge", "prompts", dir, "--level", "user", "--embed-responses", "--out", emb,
                    NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "--embeddings-model"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr(GError) error = NULL;
  tmp_root = g_dir_make_tmp ("msr-prompts-XXXXXX", &error);
  g_assert_no_error (error);
  project_dir = msr_test_llm_project (tmp_root, "project");

  g_test_add_func ("/prompts/templates", test_templates);
  g_test_add_func ("/prompts/training-only", test_training_only);
  g_test_add_func ("/prompts/movielens-titles", test_movielens_titles);
  g_test_add_func ("/prompts/requests", test_requests);
  g_test_add_func ("/batch/import", test_import);
  g_test_add_func ("/batch/malformed", test_import_malformed);
  g_test_add_func ("/batch/embeddings", test_import_embeddings);
  g_test_add_func ("/batch/is-batch-output", test_is_batch_output);
  g_test_add_func ("/cli/prompts-import", test_cli);
  int status = g_test_run ();
  msr_test_rm_rf (tmp_root);
  g_free (tmp_root);
  g_free (project_dir);
  return status;
}
