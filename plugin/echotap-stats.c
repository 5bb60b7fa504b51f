#include "echotap.h"
void echotap_register_stats(int proto, module_t *module) { (void)proto; (void)module; }
