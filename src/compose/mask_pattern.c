/* Inpainting masks by name (`ebm inpaint --mask pattern:NAME`, the
 * benchmark masks of seed 004): the same region of every item, or each
 * value at random. */
#include <stdlib.h>
#include <string.h>

#include "ebm/compose.h"

ebm_status ebm_mask_pattern(const char *name, int item_ndim, const int64_t *item_shape, int64_t n, ebm_rng *rng,
                            float *mask) {
  int64_t item = 1;
  for (int d = 0; d < item_ndim; d++) item *= item_shape[d];
  const int images = item_ndim == 3;
  const int64_t H = images ? item_shape[1] : 1, W = images ? item_shape[2] : item;
  double p = -1.0;
  if (strncmp(name, "random:", 7) == 0) {
    char *end = NULL;
    p = strtod(name + 7, &end);
    if (end == name + 7 || *end || !(p > 0.0 && p <= 1.0))
      return ebm_set_error(EBM_ERR_ARG, "pattern:random:P needs P in (0, 1], got '%s'", name + 7);
  } else if (strcmp(name, "right-half") != 0 && strcmp(name, "bottom-half") != 0 && strcmp(name, "center") != 0) {
    return ebm_set_error(EBM_ERR_ARG, "pattern:%s: patterns are right-half, bottom-half, center, random:P", name);
  }
  if (p > 0.0) {
    ebm_rng_uniform(rng, mask, n * item, 0.0f, 1.0f);
    for (int64_t k = 0; k < n * item; k++) mask[k] = mask[k] < (float)p ? 1.0f : 0.0f;
    return EBM_OK;
  }
  for (int64_t k = 0; k < n * item; k++) {
    int64_t pix = k % (H * W), h = pix / W, w = pix % W; /* every channel alike */
    int fill = name[0] == 'r' ? w >= W / 2
               : name[0] == 'b' ? (images ? h >= H / 2 : w >= W / 2)
               : (w >= W / 4 && w < W - W / 4 && (!images || (h >= H / 4 && h < H - H / 4)));
    mask[k] = (float)fill;
  }
  return EBM_OK;
}
