/* Extra networks of a method (a generator, a flow's coupling nets): built
 * from the forms --arch takes, and initialised from the method's stream. */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

#define MAX_ARCH_BYTES (1 << 20)

/* The architecture text of a preset name, JSON text or @FILE (malloc'd). */
static ebm_status arch_text(const char *arch, char **json) {
  *json = NULL;
  if (arch[0] == '{') {
    *json = strdup(arch);
    return *json ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  }
  if (arch[0] == '@') {
    uint8_t *buf = NULL;
    size_t size = 0;
    ebm_status st = ebm_read_file(arch + 1, MAX_ARCH_BYTES, &buf, &size);
    if (st != EBM_OK) return st;
    *json = malloc(size + 1);
    if (*json) {
      memcpy(*json, buf, size);
      (*json)[size] = '\0';
    }
    free(buf);
    return *json ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  }
  return ebm_arch_preset(arch, 0, 0, json);
}

ebm_status train_build_net(const char *arch, int64_t max_batch, ebm_rng *rng, const char *what,
                           ebm_net **out) {
  char *json = NULL;
  *out = NULL;
  if (!arch || !arch[0]) return ebm_set_error(EBM_ERR_ARG, "%s: no architecture given", what);
  ebm_status st = arch_text(arch, &json);
  if (st == EBM_OK) st = ebm_net_new(json, max_batch, out);
  if (st == EBM_OK && (st = ebm_net_init(*out, rng)) != EBM_OK) {
    ebm_net_free(*out);
    *out = NULL;
  }
  free(json);
  if (st != EBM_OK) ebm_error_prefix(st, what);
  return st;
}
