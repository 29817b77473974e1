#include "csentencepiece.h"
extern "C" int csp_version(void) { return 1; }
