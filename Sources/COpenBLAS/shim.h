// Debian's OpenBLAS (pthread build); pkg-config puts its include directory on the path.
#include <cblas.h>
