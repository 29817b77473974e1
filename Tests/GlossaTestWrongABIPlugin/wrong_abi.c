#include "wrong_abi.h"

/* Answers an ABI number the host never speaks and registers nothing, as a library built against an older
   or newer Glossa would. */
uint32_t glossa_plugin_register(uint32_t host_abi, void *registrar) {
    (void)registrar;
    return host_abi + 1000;
}
