/* libFuzzer: an architecture JSON (what a checkpoint's metadata "arch"
 * holds) through ebm_net_plan and ebm_net_new, under run-fuzz.sh's 1 GiB
 * allocation cap. Planning allocates no arrays whatever the JSON claims; a
 * network whose plan fits FUZZ_BUILD_BYTES must then build, its canonical
 * JSON must be a fixed point, and one forward pass on zeros must succeed
 * with finite outputs or fail with a message. */
#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *json = malloc(size + 1);
  FUZZ_CHECK(json != NULL);
  memcpy(json, data, size);
  json[size] = '\0';
  ebm_net_memory mem;
  ebm_status s = ebm_net_plan(json, 2, &mem);
  fuzz_check_message(s);
  if (s || mem.param_bytes + mem.work_bytes > FUZZ_BUILD_BYTES) {
    free(json);
    return 0;
  }
  ebm_net *net = NULL, *again = NULL;
  s = ebm_net_new(json, 2, &net);
  fuzz_check_message(s);
  FUZZ_CHECK(s == EBM_OK); /* the plan said it builds */
  FUZZ_CHECK(ebm_net_new(ebm_net_arch_json(net), 2, &again) == EBM_OK);
  FUZZ_CHECK(strcmp(ebm_net_arch_json(net), ebm_net_arch_json(again)) == 0);
  ebm_net_free(again);
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  FUZZ_CHECK(ebm_net_init(net, &rng) == EBM_OK);
  fuzz_forward_once(net, 2);
  ebm_net_free(net);
  free(json);
  return 0;
}
