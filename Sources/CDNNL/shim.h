// Debian's oneDNN 2.6 (libdnnl-dev), built with the OpenMP CPU runtime (dnnl_config.h:
// DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP). Glossa calls it with one OpenMP thread per calling thread.
#include <oneapi/dnnl/dnnl.h>

// Argument indices as plain constants (the header's are chains of macros Swift does not import).
enum {
    CDNNL_ARG_SRC = DNNL_ARG_SRC,
    CDNNL_ARG_WEIGHTS = DNNL_ARG_WEIGHTS,
    CDNNL_ARG_DST = DNNL_ARG_DST,
    CDNNL_ARG_FROM = DNNL_ARG_FROM,
    CDNNL_ARG_TO = DNNL_ARG_TO,
    CDNNL_ARG_SCRATCHPAD = DNNL_ARG_SCRATCHPAD,
};
static const dnnl_dim_t CDNNL_RUNTIME_DIM = DNNL_RUNTIME_DIM_VAL;
