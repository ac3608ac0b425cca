/* msr-movielens.c: MovieLens-100K's raw files as a multi-scenario dataset. */
#include "config.h"
#include "msr-movielens.h"
#include "msr-dataset-private.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>

/* The official files, as in GroupLens's ml-100k.zip. */
typedef struct {
  const char *name;
  gint64      size;
  const char *sha256;
  gboolean    required;
} OfficialFile;

static const OfficialFile official_files[] = {
  { "u.data", 1979173, "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490", TRUE },
  { "u.item", 236344, "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701", TRUE },
  { "u.user", 22628, "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c", TRUE },
  { "u.genre", 202, "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb", TRUE },
  { "u.occupation", 193, "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d", TRUE },
  { "u1.base", 1586544, "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a", TRUE },
  { "u1.test", 392629, "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950", TRUE },
  { "u.info", 36, "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b", FALSE },
  { "README", 6750, "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52", FALSE },
};

#define N_GENRES 19

static const char *const official_genres[N_GENRES] = {
  "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
  "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
  "Romance", "Sci-Fi", "Thriller", "War", "Western",
};

/* The genre framing: a movie's scenario is the first group, in this order,
 * that holds any of its genres (shared/data/README.md). */
typedef struct {
  const char *name;
  const char *genres[6];
} GenreGroup;

static const GenreGroup genre_groups[] = {
  { "Family", { "Animation", "Children's", "Musical", "Fantasy", NULL } },
  { "Action/Adventure/Sci-Fi", { "Action", "Adventure", "Sci-Fi", "War", "Western", NULL } },
  { "Thriller/Crime/Horror", { "Thriller", "Crime", "Horror", "Mystery", "Film-Noir", NULL } },
  { "Comedy/Romance", { "Comedy", "Romance", NULL } },
  { "Drama/Documentary", { "Drama", "Documentary", NULL } },
};

static const struct { const char *name; const char *description; int max_age; } age_scenarios[] = {
  { "<25", "users younger than 25", 24 },
  { "25-34", "users aged 25 to 34", 34 },
  { "35+", "users aged 35 and over", G_MAXINT },
};

const char *
msr_movielens_scenarios_to_string (MsrMovielensScenarios scenarios)
{
  return scenarios == MSR_MOVIELENS_SCENARIOS_AGE ? "age" : "genre";
}

gboolean
msr_movielens_scenarios_from_string (const char *s, MsrMovielensScenarios *out)
{
  if (g_strcmp0 (s, "genre") == 0)
    *out = MSR_MOVIELENS_SCENARIOS_GENRE;
  else if (g_strcmp0 (s, "age") == 0)
    *out = MSR_MOVIELENS_SCENARIOS_AGE;
  else
    return FALSE;
  return TRUE;
}

/* ---- verification and copying ------------------------------------------ */

static gboolean
verify_file (const char *dir, const OfficialFile *of, GError **error)
{
  g_autofree char *path = g_build_filename (dir, of->name, NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &contents, &len, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                   "%s: missing or unreadable (%s); is %s a MovieLens-100K folder (ml-100k)?",
                   path, local->message, dir);
      return FALSE;
    }
  if ((gint64) len != of->size)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: %" G_GSIZE_FORMAT " bytes, but the official file has %" G_GINT64_FORMAT
                   "; the copy is modified or incomplete", path, len, of->size);
      return FALSE;
    }
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
  if (strcmp (sum, of->sha256) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: SHA-256 %s differs from the official file's %s; the copy is modified",
                   path, sum, of->sha256);
      return FALSE;
    }
  return TRUE;
}

gboolean
msr_movielens_verify_dir (const char *dir, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (official_files); i++)
    if (official_files[i].required && !verify_file (dir, &official_files[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
remove_tree (GFile *dir)
{
  g_autoptr(GFileEnumerator) e = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                            G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (e != NULL)
    {
      GFileInfo *info;
      while ((info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
        {
          g_autoptr(GFile) child = g_file_get_child (dir, g_file_info_get_name (info));
          g_file_delete (child, NULL, NULL);
          g_object_unref (info);
        }
    }
  return g_file_delete (dir, NULL, NULL);
}

gboolean
msr_movielens_copy_from (const char *src_dir, const char *dest_dir, char **out_data_dir,
                         GCancellable *cancellable, GError **error)
{
  if (!msr_movielens_verify_dir (src_dir, error))
    return FALSE;

  g_autofree char *target = g_build_filename (dest_dir, "ml-100k", NULL);
  if (g_file_test (target, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                   "%s already exists; remove it or choose another destination", target);
      return FALSE;
    }
  if (g_mkdir_with_parents (dest_dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create folder: %s",
                   dest_dir, g_strerror (saved));
      return FALSE;
    }
  g_autofree char *tmpl = g_build_filename (dest_dir, ".ml-100k-XXXXXX", NULL);
  if (g_mkdtemp (tmpl) == NULL)
    {
      int saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create a temporary folder: %s",
                   dest_dir, g_strerror (saved));
      return FALSE;
    }
  g_autoptr(GFile) tmp = g_file_new_for_path (tmpl);

  for (guint i = 0; i < G_N_ELEMENTS (official_files); i++)
    {
      g_autofree char *from = g_build_filename (src_dir, official_files[i].name, NULL);
      if (!official_files[i].required && !g_file_test (from, G_FILE_TEST_EXISTS))
        continue;
      g_autoptr(GFile) src = g_file_new_for_path (from);
      g_autoptr(GFile) dst = g_file_get_child (tmp, official_files[i].name);
      g_autoptr(GError) local = NULL;
      if (!g_file_copy (src, dst, G_FILE_COPY_NONE, cancellable, NULL, NULL, &local))
        {
          remove_tree (tmp);
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local));
          else
            g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot copy: %s", from, local->message);
          return FALSE;
        }
    }
  /* Check the copies too: the source could change while we read it. */
  if (!msr_movielens_verify_dir (tmpl, error))
    {
      remove_tree (tmp);
      return FALSE;
    }
  if (g_rename (tmpl, target) != 0)
    {
      int saved = errno;
      remove_tree (tmp);
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot move into place: %s",
                   target, g_strerror (saved));
      return FALSE;
    }
  if (out_data_dir)
    *out_data_dir = g_steal_pointer (&target);
  return TRUE;
}

/* ---- loading ------------------------------------------------------------ */

typedef struct {
  gboolean known;
  int      age;
  char    *gender;
  char    *occupation;
  char    *zip_prefix;
} User;

typedef struct {
  gboolean known;
  char    *title;
  char    *release_band;
  guint32  genres;   /* bit g = genre g */
} Item;

typedef struct {
  GPtrArray *users;  /* User*, indexed by raw id */
  GPtrArray *items;  /* Item*, indexed by raw id */
  char      *genre_names[N_GENRES];
} Tables;

static void
user_free (gpointer p)
{
  User *u = p;
  if (u == NULL)
    return;
  g_free (u->gender);
  g_free (u->occupation);
  g_free (u->zip_prefix);
  g_free (u);
}

static void
item_free (gpointer p)
{
  Item *it = p;
  if (it == NULL)
    return;
  g_free (it->title);
  g_free (it->release_band);
  g_free (it);
}

static void
tables_clear (Tables *t)
{
  g_clear_pointer (&t->users, g_ptr_array_unref);
  g_clear_pointer (&t->items, g_ptr_array_unref);
  for (int g = 0; g < N_GENRES; g++)
    g_clear_pointer (&t->genre_names[g], g_free);
}

static gboolean
parse_uint (const char *s, guint64 max, guint64 *out)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (s, 10, 0, max, &v, NULL))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
line_error (GError **error, const char *path, gsize line, const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
line_error (GError **error, const char *path, gsize line, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %" G_GSIZE_FORMAT ": %s", path, line, msg);
  return FALSE;
}

/* Reads a file as lines, converting from Latin-1 when asked. */
static char **
read_lines (const char *path, gboolean latin1, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &contents, &len, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read: %s", path, local->message);
      return NULL;
    }
  if (latin1)
    {
      char *utf8 = g_convert (contents, (gssize) len, "UTF-8", "ISO-8859-1", NULL, NULL, &local);
      if (utf8 == NULL)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: cannot convert from Latin-1: %s",
                       path, local->message);
          return NULL;
        }
      g_free (contents);
      contents = utf8;
    }
  else if (!g_utf8_validate (contents, (gssize) len, NULL) || memchr (contents, '\0', len))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: not a text file in UTF-8/ASCII", path);
      return NULL;
    }
  return g_strsplit (contents, "\n", -1);
}

static gboolean
load_genres (Tables *t, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "u.genre", NULL);
  g_auto(GStrv) lines = read_lines (path, TRUE, error);
  if (lines == NULL)
    return FALSE;
  guint seen = 0;
  for (gsize i = 0; lines[i]; i++)
    {
      g_strchomp (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      g_auto(GStrv) f = g_strsplit (lines[i], "|", -1);
      guint64 idx;
      if (g_strv_length (f) != 2 || !parse_uint (f[1], N_GENRES - 1, &idx))
        return line_error (error, path, i + 1, "expected 'name|index' with an index below %d", N_GENRES);
      if (strcmp (f[0], official_genres[idx]) != 0)
        return line_error (error, path, i + 1, "genre %u is '%s', expected '%s'",
                           (guint) idx, f[0], official_genres[idx]);
      g_free (t->genre_names[idx]);
      t->genre_names[idx] = g_strdup (f[0]);
      seen |= 1u << idx;
    }
  if (seen != (1u << N_GENRES) - 1)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: expected the %d MovieLens genres", path, N_GENRES);
      return FALSE;
    }
  return TRUE;
}

static const char *
age_feature_band (int age)
{
  /* The age groups MovieLens-1M publishes, applied to exact ages. */
  if (age < 18) return "<18";
  if (age < 25) return "18-24";
  if (age < 35) return "25-34";
  if (age < 45) return "35-44";
  if (age < 50) return "45-49";
  if (age < 56) return "50-55";
  return "56+";
}

static gboolean
load_users (Tables *t, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "u.user", NULL);
  g_auto(GStrv) lines = read_lines (path, FALSE, error);
  if (lines == NULL)
    return FALSE;
  t->users = g_ptr_array_new_with_free_func (user_free);
  for (gsize i = 0; lines[i]; i++)
    {
      g_strchomp (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      g_auto(GStrv) f = g_strsplit (lines[i], "|", -1);
      guint64 id, age;
      if (g_strv_length (f) != 5)
        return line_error (error, path, i + 1, "expected 5 '|'-separated fields, found %u", g_strv_length (f));
      if (!parse_uint (f[0], 1000000, &id) || id == 0)
        return line_error (error, path, i + 1, "user id '%s' is not a positive integer", f[0]);
      if (!parse_uint (f[1], 150, &age))
        return line_error (error, path, i + 1, "age '%s' is not an integer between 0 and 150", f[1]);
      if (id >= t->users->len)
        g_ptr_array_set_size (t->users, (guint) id + 1);
      if (g_ptr_array_index (t->users, id) != NULL)
        return line_error (error, path, i + 1, "user %s appears twice", f[0]);
      User *u = g_new0 (User, 1);
      u->known = TRUE;
      u->age = (int) age;
      u->gender = g_strdup (f[2]);
      u->occupation = g_strdup (f[3]);
      u->zip_prefix = f[4][0] ? g_utf8_strup (f[4], 1) : g_strdup ("");
      g_ptr_array_index (t->users, id) = u;
    }
  return TRUE;
}

static char *
release_band (const char *date)
{
  /* Dates look like 01-Jan-1995; one movie has none. */
  gsize n = strlen (date);
  guint64 year;
  if (n < 4 || !parse_uint (date + n - 4, 3000, &year))
    return g_strdup ("unknown");
  if (year < 1960) return g_strdup ("before 1960");
  if (year < 1990) return g_strdup_printf ("%us", (guint) (year / 10 * 10));
  if (year < 1995) return g_strdup ("1990-1994");
  return g_strdup ("1995 and later");
}

static gboolean
load_items (Tables *t, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "u.item", NULL);
  g_auto(GStrv) lines = read_lines (path, TRUE, error);
  if (lines == NULL)
    return FALSE;
  t->items = g_ptr_array_new_with_free_func (item_free);
  for (gsize i = 0; lines[i]; i++)
    {
      g_strchomp (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      g_auto(GStrv) f = g_strsplit (lines[i], "|", -1);
      guint64 id;
      if (g_strv_length (f) != 5 + N_GENRES)
        return line_error (error, path, i + 1, "expected %d '|'-separated fields, found %u",
                           5 + N_GENRES, g_strv_length (f));
      if (!parse_uint (f[0], 1000000, &id) || id == 0)
        return line_error (error, path, i + 1, "movie id '%s' is not a positive integer", f[0]);
      if (id >= t->items->len)
        g_ptr_array_set_size (t->items, (guint) id + 1);
      if (g_ptr_array_index (t->items, id) != NULL)
        return line_error (error, path, i + 1, "movie %s appears twice", f[0]);
      Item *it = g_new0 (Item, 1);
      it->known = TRUE;
      it->title = g_strdup (f[1]);
      it->release_band = release_band (f[2]);
      g_ptr_array_index (t->items, id) = it;
      for (int g = 0; g < N_GENRES; g++)
        {
          if (strcmp (f[5 + g], "1") == 0)
            it->genres |= 1u << g;
          else if (strcmp (f[5 + g], "0") != 0)
            return line_error (error, path, i + 1, "genre flag %d is '%s', expected 0 or 1", g + 1, f[5 + g]);
        }
    }
  return TRUE;
}

static int
genre_index (const char *name)
{
  for (int g = 0; g < N_GENRES; g++)
    if (strcmp (official_genres[g], name) == 0)
      return g;
  g_assert_not_reached ();
}

/* Index of the item's genre group, or -1 when it has none. */
static int
genre_group_of (const Item *it)
{
  for (guint k = 0; k < G_N_ELEMENTS (genre_groups); k++)
    for (const char *const *g = genre_groups[k].genres; *g; g++)
      if (it->genres & (1u << genre_index (*g)))
        return (int) k;
  return -1;
}

typedef struct {
  guint f_user, f_item, f_age, f_gender, f_occupation, f_zip, f_release, f_genres;
  gsize dropped_rows;
  GHashTable *dropped_items;   /* raw id set */
} Fields;

static gboolean
load_ratings (MsrDataset *ds, Tables *t, const char *dir, const char *file, MsrSplit split,
              MsrMovielensScenarios framing, Fields *fl, double base, double span,
              MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
              gsize *n_dropped, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_auto(GStrv) lines = read_lines (path, FALSE, error);
  if (lines == NULL)
    return FALSE;
  guint n_lines = g_strv_length (lines);

  for (gsize i = 0; lines[i]; i++)
    {
      if (i % 16384 == 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          if (progress)
            progress (base + span * (double) i / MAX (n_lines, 1), "Reading ratings", progress_data);
        }
      g_strchomp (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      g_auto(GStrv) f = g_strsplit (lines[i], "\t", -1);
      guint64 uid, iid, rating, ts;
      if (g_strv_length (f) != 4)
        return line_error (error, path, i + 1, "expected 4 tab-separated fields, found %u", g_strv_length (f));
      if (!parse_uint (f[0], G_MAXUINT32, &uid) || uid >= t->users->len || g_ptr_array_index (t->users, uid) == NULL)
        return line_error (error, path, i + 1, "user '%s' is not in u.user", f[0]);
      if (!parse_uint (f[1], G_MAXUINT32, &iid) || iid >= t->items->len || g_ptr_array_index (t->items, iid) == NULL)
        return line_error (error, path, i + 1, "movie '%s' is not in u.item", f[1]);
      if (!parse_uint (f[2], 5, &rating) || rating < 1)
        return line_error (error, path, i + 1, "rating '%s' is not 1 to 5", f[2]);
      if (!parse_uint (f[3], G_MAXINT64, &ts))
        return line_error (error, path, i + 1, "timestamp '%s' is not an integer", f[3]);

      const User *u = g_ptr_array_index (t->users, uid);
      const Item *it = g_ptr_array_index (t->items, iid);
      guint scenario;
      if (framing == MSR_MOVIELENS_SCENARIOS_GENRE)
        {
          int g = genre_group_of (it);
          if (g < 0)
            {
              (*n_dropped)++;
              g_hash_table_add (fl->dropped_items, GUINT_TO_POINTER ((guint) iid));
              continue;
            }
          scenario = (guint) g;
        }
      else
        {
          scenario = 0;
          while (u->age > age_scenarios[scenario].max_age)
            scenario++;
        }

      msr_dataset_begin_row (ds, scenario, rating >= 4, split, (gint64) ts);
      msr_dataset_push_code (ds, fl->f_user, msr_dataset_intern_value (ds, fl->f_user, f[0]));
      gint32 icode = msr_dataset_intern_value (ds, fl->f_item, f[1]);
      msr_dataset_push_code (ds, fl->f_item, icode);
      msr_dataset_set_value_label (ds, fl->f_item, icode, it->title);
      msr_dataset_push_code (ds, fl->f_age, msr_dataset_intern_value (ds, fl->f_age, age_feature_band (u->age)));
      msr_dataset_push_code (ds, fl->f_gender, msr_dataset_intern_value (ds, fl->f_gender, u->gender));
      msr_dataset_push_code (ds, fl->f_occupation, msr_dataset_intern_value (ds, fl->f_occupation, u->occupation));
      msr_dataset_push_code (ds, fl->f_zip, msr_dataset_intern_value (ds, fl->f_zip, u->zip_prefix));
      msr_dataset_push_code (ds, fl->f_release, msr_dataset_intern_value (ds, fl->f_release, it->release_band));
      for (int g = 0; g < N_GENRES; g++)
        if (it->genres & (1u << g))
          msr_dataset_push_code (ds, fl->f_genres, msr_dataset_intern_value (ds, fl->f_genres, official_genres[g]));
      msr_dataset_end_row (ds);
    }
  return TRUE;
}

static int
cmp_uint (gconstpointer a, gconstpointer b)
{
  guint x = GPOINTER_TO_UINT (*(gconstpointer *) a), y = GPOINTER_TO_UINT (*(gconstpointer *) b);
  return x < y ? -1 : x > y;
}

MsrDataset *
msr_movielens_load (const char *dir, MsrMovielensScenarios framing, MsrSplitMethod method,
                    MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
                    GError **error)
{
  Tables t = { 0 };
  g_autofree char *name = g_strdup_printf ("MovieLens-100K (%s scenarios)",
                                           msr_movielens_scenarios_to_string (framing));

  if (progress)
    progress (0.0, "Verifying MovieLens-100K files", progress_data);
  if (!msr_movielens_verify_dir (dir, error) ||
      !load_genres (&t, dir, error) || !load_users (&t, dir, error) || !load_items (&t, dir, error))
    {
      tables_clear (&t);
      return NULL;
    }

  g_autoptr(MsrDataset) ds = msr_dataset_new (name, dir);
  Fields fl = { 0 };
  fl.f_user = msr_dataset_add_field (ds, "user_id", MSR_FIELD_CATEGORICAL);
  fl.f_item = msr_dataset_add_field (ds, "item_id", MSR_FIELD_CATEGORICAL);
  fl.f_age = msr_dataset_add_field (ds, "age_band", MSR_FIELD_CATEGORICAL);
  fl.f_gender = msr_dataset_add_field (ds, "gender", MSR_FIELD_CATEGORICAL);
  fl.f_occupation = msr_dataset_add_field (ds, "occupation", MSR_FIELD_CATEGORICAL);
  fl.f_zip = msr_dataset_add_field (ds, "zip_prefix", MSR_FIELD_CATEGORICAL);
  fl.f_release = msr_dataset_add_field (ds, "release_band", MSR_FIELD_CATEGORICAL);
  fl.f_genres = msr_dataset_add_field (ds, "genres", MSR_FIELD_MULTI_HOT);
  fl.dropped_items = g_hash_table_new (g_direct_hash, g_direct_equal);
  msr_dataset_set_user_item_fields (ds, fl.f_user, fl.f_item);
  msr_dataset_enable_timestamps (ds);

  if (framing == MSR_MOVIELENS_SCENARIOS_GENRE)
    for (guint k = 0; k < G_N_ELEMENTS (genre_groups); k++)
      {
        g_autofree char *joined = g_strjoinv (", ", (char **) genre_groups[k].genres);
        g_autofree char *desc = g_strdup_printf ("movies whose first matching genre group is: %s", joined);
        msr_dataset_intern_scenario (ds, genre_groups[k].name, desc);
      }
  else
    for (guint k = 0; k < G_N_ELEMENTS (age_scenarios); k++)
      msr_dataset_intern_scenario (ds, age_scenarios[k].name, age_scenarios[k].description);

  gboolean ok;
  gsize dropped_base = 0, dropped_test = 0;
  if (method == MSR_SPLIT_METHOD_FILE)
    ok = load_ratings (ds, &t, dir, "u1.base", MSR_SPLIT_TRAIN, framing, &fl, 0.05, 0.75,
                       progress, progress_data, cancellable, &dropped_base, error) &&
         load_ratings (ds, &t, dir, "u1.test", MSR_SPLIT_TEST, framing, &fl, 0.8, 0.2,
                       progress, progress_data, cancellable, &dropped_test, error);
  else
    ok = load_ratings (ds, &t, dir, "u.data", MSR_SPLIT_TRAIN, framing, &fl, 0.05, 0.95,
                       progress, progress_data, cancellable, &dropped_base, error);
  tables_clear (&t);
  if (!ok)
    {
      g_hash_table_unref (fl.dropped_items);
      return NULL;
    }

  gsize dropped = dropped_base + dropped_test;
  if (dropped > 0)
    {
      g_autoptr(GPtrArray) ids = g_ptr_array_new ();
      GHashTableIter iter;
      gpointer key;
      g_hash_table_iter_init (&iter, fl.dropped_items);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (ids, key);
      g_ptr_array_sort (ids, cmp_uint);
      g_autoptr(GString) list = g_string_new (NULL);
      for (guint i = 0; i < ids->len; i++)
        g_string_append_printf (list, "%s%u", i ? ", " : "", GPOINTER_TO_UINT (g_ptr_array_index (ids, i)));
      if (method == MSR_SPLIT_METHOD_FILE)
        msr_dataset_add_note (ds, "Dropped %" G_GSIZE_FORMAT " ratings (%" G_GSIZE_FORMAT " in u1.base, %"
                              G_GSIZE_FORMAT " in u1.test) of %u movies tagged only 'unknown' "
                              "(ids %s): they belong to no genre group.",
                              dropped, dropped_base, dropped_test, ids->len, list->str);
      else
        msr_dataset_add_note (ds, "Dropped %" G_GSIZE_FORMAT " ratings of %u movies tagged only 'unknown' "
                              "(ids %s): they belong to no genre group.", dropped, ids->len, list->str);
      msr_dataset_add_dropped (ds, dropped);
    }
  g_hash_table_unref (fl.dropped_items);
  msr_dataset_add_note (ds, "Label: rating >= 4 is positive.");

  if (!msr_dataset_finish (ds, error))
    return NULL;
  if (progress)
    progress (1.0, "Loaded", progress_data);
  return g_steal_pointer (&ds);
}
