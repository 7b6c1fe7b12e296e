/* What `ebm sample` and `ebm compose` do with the chains they drew: the
 * .npy of the final states and the picture of them (see use_common.h). */
#include <string.h>

#include "use_common.h"

int use_is_plane(const ebm_energy *en) { return en->item_ndim == 1 && en->item_shape[0] == 2; }

int use_check_picture(const char *verb, const char *flag, const char *path, const ebm_energy *en) {
  if (!path || use_is_image(en) || use_is_plane(en)) return 0;
  return cli_usage_error(verb, "--%s draws images or 2-D samples; %s has items of %lld values (images need 1 or 3 channels)",
                         flag, en->name, (long long)ebm_energy_item_size(en));
}

ebm_status use_save_items(const char *path, const ebm_energy *en, const float *x, int64_t n) {
  int64_t shape[4] = {n};
  memcpy(shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof *shape);
  return ebm_npy_save(path, EBM_DTYPE_F32, 1 + en->item_ndim, shape, x);
}

ebm_status use_write_picture(const char *path, const ebm_energy *en, float lo, float hi, int32_t label, float temp,
                             const float *x, int64_t n) {
  if (!path) return EBM_OK;
  if (use_is_plane(en)) return use_write_density(path, en, lo, hi, label, temp, x, n);
  return use_write_images(path, en, lo, hi, x, n, 0);
}
