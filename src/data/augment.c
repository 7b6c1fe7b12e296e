/* Augmentation of chains restarted from the replay buffer (ebm/data.h):
 * flips, small shifts and pixel noise, the transforms that suit grey
 * images (Du et al. 2021 use crops, flips and colour jitter on colour
 * images, none on MNIST). Every transform maps [lo, hi] into itself. */
#include <string.h>

#include "ebm.h"

static const char *const augment_names[] = {"flip", "shift", "noise"};
enum { AUGMENT_KINDS = 3 };

ebm_status ebm_augment_parse(const char *list, unsigned *mask) {
  *mask = 0;
  if (!list || strcmp(list, "none") == 0 || !*list) return EBM_OK;
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    int found = 0;
    for (int k = 0; k < AUGMENT_KINDS && !found; k++)
      if (len == strlen(augment_names[k]) && strncmp(p, augment_names[k], len) == 0) {
        *mask |= 1u << k;
        found = 1;
      }
    if (!found)
      return ebm_set_error(EBM_ERR_ARG, "augment: unknown transform '%.*s' (flip, shift, noise or none)",
                           (int)len, p);
    p += len + (p[len] == ',');
  }
  return EBM_OK;
}

const char *ebm_augment_text(unsigned mask, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (int k = 0; k < AUGMENT_KINDS; k++)
    if (mask & (1u << k) && len < size)
      len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", augment_names[k]);
  if (!len) snprintf(buf, size, "none");
  return buf;
}

ebm_status ebm_augment_check(unsigned mask, int item_ndim) {
  if (mask & ~(unsigned)EBM_AUGMENT_ALL) return ebm_set_error(EBM_ERR_ARG, "augment: unknown bits in mask %#x", mask);
  if ((mask & (EBM_AUGMENT_FLIP | EBM_AUGMENT_SHIFT)) && item_ndim != 3)
    return ebm_set_error(EBM_ERR_ARG, "augment: flip and shift need images (C, H, W); these items have %d "
                         "dimension%s (use noise)", item_ndim, item_ndim == 1 ? "" : "s");
  return EBM_OK;
}

/* x ← x shifted by (dy, dx), and mirrored when flip: out(c, h, w) =
 * in(c, clamp(h − dy), clamp(w' − dx)), w' = W−1−w when flipped. */
static void move_pixels(float *x, const int64_t *shape, int flip, int dy, int dx, float *tmp) {
  const int64_t C = shape[0], H = shape[1], W = shape[2];
  memcpy(tmp, x, (size_t)(C * H * W) * sizeof *x);
  for (int64_t c = 0; c < C; c++)
    for (int64_t h = 0; h < H; h++) {
      int64_t sh = h - dy;
      sh = sh < 0 ? 0 : (sh >= H ? H - 1 : sh);
      for (int64_t w = 0; w < W; w++) {
        int64_t sw = (flip ? W - 1 - w : w) - dx;
        sw = sw < 0 ? 0 : (sw >= W ? W - 1 : sw);
        x[(c * H + h) * W + w] = tmp[(c * H + sh) * W + sw];
      }
    }
}

void ebm_augment_item(float *x, int item_ndim, const int64_t *item_shape, unsigned mask, float lo,
                      float hi, ebm_rng *rng, float *tmp) {
  if (!mask) return;
  if (item_ndim == 3 && (mask & (EBM_AUGMENT_FLIP | EBM_AUGMENT_SHIFT))) {
    int flip = (mask & EBM_AUGMENT_FLIP) ? (int)ebm_rng_below(rng, 2) : 0, dy = 0, dx = 0;
    if (mask & EBM_AUGMENT_SHIFT) {
      dy = (int)ebm_rng_below(rng, 2 * EBM_AUGMENT_SHIFT_MAX + 1) - EBM_AUGMENT_SHIFT_MAX;
      dx = (int)ebm_rng_below(rng, 2 * EBM_AUGMENT_SHIFT_MAX + 1) - EBM_AUGMENT_SHIFT_MAX;
    }
    if (flip || dy || dx) move_pixels(x, item_shape, flip, dy, dx, tmp);
  }
  if (mask & EBM_AUGMENT_NOISE) {
    int64_t m = 1;
    for (int d = 0; d < item_ndim; d++) m *= item_shape[d];
    ebm_rng_normal(rng, tmp, m, 0.0f, EBM_AUGMENT_NOISE_REL * (hi - lo));
    for (int64_t k = 0; k < m; k++) {
      float v = x[k] + tmp[k];
      x[k] = v < lo ? lo : (v > hi ? hi : v);
    }
  }
}
