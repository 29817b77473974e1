#ifndef GLOSSA_KERNELS_H
#define GLOSSA_KERNELS_H
#include <stddef.h>
#endif
