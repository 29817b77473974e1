#include <stdint.h>
/* A plugin library built against another plugin ABI: its entry point answers a different number. */
uint32_t glossa_plugin_register(uint32_t host_abi, void *registrar);
