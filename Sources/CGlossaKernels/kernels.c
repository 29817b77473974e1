#include "glossa_kernels.h"
