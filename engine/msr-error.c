#include "msr-error.h"

G_DEFINE_QUARK (msr-error-quark, msr_error)
