/* For the project's own tools (calibrate, tune, the planner evaluation), which
 * compute planner features of a loaded model: not part of the public API. */
#ifndef DF_API_MODEL_INTERNAL_H
#define DF_API_MODEL_INTERNAL_H

#include "plan/program.h"

/* The compiled program of a model; owned by the model. */
df_program *df_model_program(const df_model *model);

#endif
