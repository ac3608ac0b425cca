/* lens-export.c: see lens-export.h. */
#include "config.h"

#include "lens-export.h"

#include <adwaita.h>

/* Points and DPI: what each size means on paper and in pixels. */
static const struct { const char *id; const char *label; double width, height, dpi; } export_sizes[] = {
  { "slide", "Slide, 1920 × 1200 px", 720, 450, 192 },
  { "column", "Paper column, 3.5 in at 300 dpi", 252, 180, 300 },
  { "page", "Paper page width, 7 in at 300 dpi", 504, 300, 300 },
};

guint
lens_export_get_n_sizes (void)
{
  return G_N_ELEMENTS (export_sizes);
}

const char *
lens_export_get_size_id (guint i)
{
  return i < G_N_ELEMENTS (export_sizes) ? export_sizes[i].id : NULL;
}

gboolean
lens_export_write (const char *path, const char *size_id, LensChart *chart, LensTable *table, GError **error)
{
  LensExportFormat format;

  g_return_val_if_fail (path != NULL, FALSE);
  if (g_str_has_suffix (path, ".csv") && table != NULL)
    return lens_table_export_csv (table, path, error);
  if (lens_export_format_from_path (path, &format) && chart != NULL)
    {
      guint k = 0;
      for (guint i = 0; i < G_N_ELEMENTS (export_sizes); i++)
        if (g_strcmp0 (size_id, export_sizes[i].id) == 0)
          k = i;
      /* Exports use the light style whatever the screen shows: slides and
       * papers are light. */
      LensChartStyle style;
      lens_chart_style_init (&style, FALSE);
      return lens_chart_export (chart, path, format, export_sizes[k].width, export_sizes[k].height,
                                export_sizes[k].dpi, &style, error);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: name the file %s%s%s", path,
               chart ? ".png, .svg or .pdf for the chart" : "", chart && table ? ", or " : "",
               table ? ".csv for the table" : "");
  return FALSE;
}

typedef struct {
  GtkWindow *parent;
  LensChart *chart;
  LensTable *table;
} Request;

static void
request_free (Request *r)
{
  g_clear_object (&r->parent);
  g_clear_object (&r->chart);
  g_clear_object (&r->table);
  g_free (r);
}

static void
show_failure (GtkWindow *parent, const char *message)
{
  GtkWidget *dialog = adw_message_dialog_new (parent, "Could Not Export", message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", "_Close");
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  Request *r = user_data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;
      if (path == NULL)
        show_failure (r->parent, "Choose a local file to export to.");
      else if (!lens_export_write (path, gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "size"),
                                   r->chart, r->table, &error))
        show_failure (r->parent, error->message);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  request_free (r);
}

static void
add_filter (GtkFileChooser *chooser, const char *name, const char *pattern)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_pattern (filter, pattern);
  gtk_file_chooser_add_filter (chooser, filter);
}

void
lens_export_ask (GtkWindow *parent, const char *file_stem, LensChart *chart, LensTable *table)
{
  g_return_if_fail (chart != NULL || table != NULL);

  GtkFileChooserNative *native = gtk_file_chooser_native_new (chart ? "Export Chart" : "Export Table", parent,
                                                              GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  GtkFileChooser *chooser = GTK_FILE_CHOOSER (native);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_autofree char *name = g_strdup_printf ("%s.%s", file_stem && file_stem[0] ? file_stem : "export",
                                           chart ? "png" : "csv");
  gtk_file_chooser_set_current_name (chooser, name);
  if (chart)
    {
      const char *ids[G_N_ELEMENTS (export_sizes) + 1] = { NULL };
      const char *labels[G_N_ELEMENTS (export_sizes) + 1] = { NULL };
      for (guint i = 0; i < G_N_ELEMENTS (export_sizes); i++)
        ids[i] = export_sizes[i].id, labels[i] = export_sizes[i].label;
      gtk_file_chooser_add_choice (chooser, "size", "Chart size", ids, labels);
      gtk_file_chooser_set_choice (chooser, "size", "slide");
      add_filter (chooser, "PNG image", "*.png");
      add_filter (chooser, "SVG drawing", "*.svg");
      add_filter (chooser, "PDF document", "*.pdf");
    }
  if (table)
    add_filter (chooser, "Table as CSV", "*.csv");

  Request *r = g_new0 (Request, 1);
  r->parent = parent ? g_object_ref (parent) : NULL;
  r->chart = chart ? g_object_ref (chart) : NULL;
  r->table = table ? g_object_ref (table) : NULL;
  g_signal_connect (native, "response", G_CALLBACK (on_response), r);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

char *
lens_export_stem_from_title (const char *title)
{
  GString *stem = g_string_new (NULL);
  gboolean dash = FALSE;
  guint n_chars = 0;
  for (const char *p = title ? title : ""; *p && n_chars < 60; p = g_utf8_next_char (p), n_chars++)
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_isalnum (c))
        {
          if (dash && stem->len)
            g_string_append_c (stem, '-');
          g_string_append_unichar (stem, g_unichar_tolower (c));
          dash = FALSE;
        }
      else
        dash = TRUE;
    }
  return g_string_free (stem, FALSE);
}
