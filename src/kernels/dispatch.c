#include "kernels/dispatch.h"

#include <stdlib.h>
#include <string.h>

df_status df_conv_select(df_conv_params *p, df_conv_rows_fn *fn, void **packed)
{
    *packed = NULL;
    p->packed = NULL;
    *fn = df_conv_rows_ref;
    return DF_OK;
}

void df_conv_release(void *packed) { free(packed); }

const char *df_kernel_isa(void) { return "reference"; }
