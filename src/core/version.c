#include "ebm.h"

const char *ebm_version(void) { return EBM_VERSION; }
