/* msr-json.c: JSON from untrusted places, with a nesting limit. */
#include "msr-json.h"

#include "msr-error.h"

#include <string.h>

gboolean
msr_json_depth_ok (const char *text, gssize len, guint max_depth, gsize *at)
{
  g_return_val_if_fail (text != NULL, FALSE);
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  gboolean in_string = FALSE;
  guint depth = 0;
  for (gsize i = 0; i < n; i++)
    {
      char c = text[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > max_depth)
            {
              if (at != NULL)
                *at = i;
              return FALSE;
            }
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return TRUE;
}

JsonNode *
msr_json_from_string (const char *text, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  gsize at = 0;
  if (!msr_json_depth_ok (text, -1, MSR_JSON_MAX_DEPTH, &at))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "JSON nested more than %d deep (at byte %" G_GSIZE_FORMAT ")", MSR_JSON_MAX_DEPTH, at + 1);
      return NULL;
    }
  g_autoptr(GError) local = NULL;
  JsonNode *node = json_from_string (text, &local);
  if (node == NULL && local != NULL)
    g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "not JSON: %s", local->message);
  else if (node == NULL)
    g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "not JSON: empty");
  return node;
}
