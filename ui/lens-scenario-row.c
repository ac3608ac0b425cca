/* lens-scenario-row.c: one scenario's statistics, as a list model item.
 *
 * Every number is a read-only property so that the column view can sort by
 * it with a GtkNumericSorter over a property expression. */
#include "lens-scenario-row.h"

#include <math.h>

struct _LensScenarioRow
{
  GObject parent_instance;

  char    *name;
  char    *description;
  guint64  rows;
  guint64  by_split[3];
  guint64  users;
  guint64  items;
  guint64  positives;
};

G_DEFINE_FINAL_TYPE (LensScenarioRow, lens_scenario_row, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_DESCRIPTION,
  PROP_ROWS,
  PROP_TRAIN,
  PROP_VALID,
  PROP_TEST,
  PROP_USERS,
  PROP_ITEMS,
  PROP_POSITIVES,
  PROP_POSITIVE_RATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
lens_scenario_row_finalize (GObject *object)
{
  LensScenarioRow *self = LENS_SCENARIO_ROW (object);

  g_free (self->name);
  g_free (self->description);

  G_OBJECT_CLASS (lens_scenario_row_parent_class)->finalize (object);
}

static void
lens_scenario_row_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  LensScenarioRow *self = LENS_SCENARIO_ROW (object);

  switch (prop_id)
    {
    case PROP_NAME:          g_value_set_string (value, self->name); break;
    case PROP_DESCRIPTION:   g_value_set_string (value, self->description); break;
    case PROP_ROWS:          g_value_set_uint64 (value, self->rows); break;
    case PROP_TRAIN:         g_value_set_uint64 (value, self->by_split[MSR_SPLIT_TRAIN]); break;
    case PROP_VALID:         g_value_set_uint64 (value, self->by_split[MSR_SPLIT_VALID]); break;
    case PROP_TEST:          g_value_set_uint64 (value, self->by_split[MSR_SPLIT_TEST]); break;
    case PROP_USERS:         g_value_set_uint64 (value, self->users); break;
    case PROP_ITEMS:         g_value_set_uint64 (value, self->items); break;
    case PROP_POSITIVES:     g_value_set_uint64 (value, self->positives); break;
    case PROP_POSITIVE_RATE: g_value_set_double (value, lens_scenario_row_get_positive_rate (self)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
count_pspec (const char *name, const char *nick)
{
  return g_param_spec_uint64 (name, nick, NULL, 0, G_MAXUINT64, 0,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static void
lens_scenario_row_class_init (LensScenarioRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lens_scenario_row_finalize;
  object_class->get_property = lens_scenario_row_get_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", "Name", NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", "Description", NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROWS] = count_pspec ("rows", "Rows");
  properties[PROP_TRAIN] = count_pspec ("train", "Train");
  properties[PROP_VALID] = count_pspec ("valid", "Valid");
  properties[PROP_TEST] = count_pspec ("test", "Test");
  properties[PROP_USERS] = count_pspec ("users", "Users");
  properties[PROP_ITEMS] = count_pspec ("items", "Items");
  properties[PROP_POSITIVES] = count_pspec ("positives", "Positives");
  properties[PROP_POSITIVE_RATE] =
    g_param_spec_double ("positive-rate", "Positive rate", NULL,
                         -G_MAXDOUBLE, G_MAXDOUBLE, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lens_scenario_row_init (LensScenarioRow *self)
{
}

LensScenarioRow *
lens_scenario_row_new (const MsrScenarioStats *stats,
                       const char             *description)
{
  LensScenarioRow *self;

  g_return_val_if_fail (stats != NULL, NULL);

  self = g_object_new (LENS_TYPE_SCENARIO_ROW, NULL);
  self->name = g_strdup (stats->name);
  self->description = g_strdup (description);
  self->rows = stats->rows;
  for (guint i = 0; i < 3; i++)
    self->by_split[i] = stats->rows_by_split[i];
  self->users = stats->users;
  self->items = stats->items;
  self->positives = stats->positives;
  return self;
}

const char *
lens_scenario_row_get_name (LensScenarioRow *self)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), NULL);
  return self->name;
}

const char *
lens_scenario_row_get_description (LensScenarioRow *self)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), NULL);
  return self->description;
}

guint64
lens_scenario_row_get_rows (LensScenarioRow *self)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), 0);
  return self->rows;
}

guint64
lens_scenario_row_get_split_rows (LensScenarioRow *self,
                                  MsrSplit         split)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), 0);
  g_return_val_if_fail ((guint) split < 3, 0);
  return self->by_split[split];
}

guint64
lens_scenario_row_get_users (LensScenarioRow *self)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), 0);
  return self->users;
}

guint64
lens_scenario_row_get_items (LensScenarioRow *self)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), 0);
  return self->items;
}

guint64
lens_scenario_row_get_positives (LensScenarioRow *self)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), 0);
  return self->positives;
}

double
lens_scenario_row_get_positive_rate (LensScenarioRow *self)
{
  g_return_val_if_fail (LENS_IS_SCENARIO_ROW (self), NAN);
  if (self->rows == 0)
    return NAN;
  return (double) self->positives / (double) self->rows;
}
