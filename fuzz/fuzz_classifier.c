/* libFuzzer: evaluation-classifier loading (ebm_classifier_from_safetensors)
 * on arbitrary bytes: the current format (a network checkpoint marked
 * "kind": "classifier") and the first one, whose own "arch" JSON is
 * converted. Loaded at batch 0 first (no activations); a file that loads
 * has a consistent description and, when small, is loaded for 2 items and
 * run once for logits and features. */
#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ebm_safetensors *st = NULL;
  if (ebm_safetensors_parse(data, size, "fuzz.safetensors", &st)) return 0;
  ebm_classifier *c = NULL;
  ebm_status s = ebm_classifier_from_safetensors(st, 0, &c);
  fuzz_check_message(s);
  FUZZ_CHECK((s == EBM_OK) == (c != NULL));
  ebm_net_memory mem;
  if (c) {
    const ebm_classifier_arch *a = ebm_classifier_get_arch(c);
    ebm_net *net = ebm_classifier_net(c);
    FUZZ_CHECK(a->classes >= 2 && a->classes == ebm_net_out_size(net) && a->features >= 1 &&
               a->range_lo < a->range_hi);
    int fits = ebm_net_plan(ebm_net_arch_json(net), 2, &mem) == EBM_OK && mem.work_bytes <= FUZZ_BUILD_BYTES &&
               ebm_net_forward_flops(net) <= FUZZ_FORWARD_FLOPS;
    ebm_classifier_free(c);
    c = NULL;
    if (fits) {
      FUZZ_CHECK(ebm_classifier_from_safetensors(st, 2, &c) == EBM_OK);
      a = ebm_classifier_get_arch(c);
      const int64_t item = (int64_t)a->channels * a->height * a->width;
      float *x = calloc((size_t)(2 * item), sizeof *x), *z = calloc(2 * (size_t)a->classes, sizeof *z);
      float *f = calloc(2 * (size_t)a->features, sizeof *f);
      FUZZ_CHECK(x && z && f);
      s = ebm_classifier_forward(c, x, 2, z, f);
      fuzz_check_message(s);
      FUZZ_CHECK(s == EBM_OK || s == EBM_ERR_NUMERIC);
      for (int64_t i = 0; s == EBM_OK && i < 2 * a->classes; i++) FUZZ_CHECK(isfinite(z[i]));
      free(x);
      free(z);
      free(f);
      ebm_classifier_free(c);
    }
  }
  ebm_safetensors_free(st);
  return 0;
}
