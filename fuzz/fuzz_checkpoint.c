/* libFuzzer: checkpoint loading (ebm_net_from_safetensors) on arbitrary
 * bytes, the architecture JSON in its metadata included, under run-fuzz.sh's
 * 1 GiB allocation cap. At batch 0 (what `ebm info` uses) the loader
 * compares the file's tensors with a plan before allocating, so what it
 * allocates is bounded by the file's size. A file that loads is then loaded
 * for 2 items when its activations are small and run forward once. */
#include "fuzz_net.h"

static int is_json(const char *s) {
  while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
  return *s == '{';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ebm_safetensors *st = NULL;
  if (ebm_safetensors_parse(data, size, "fuzz.safetensors", &st)) return 0;
  ebm_net *net = NULL;
  ebm_status s = ebm_net_from_safetensors(st, 0, &net);
  fuzz_check_message(s);
  FUZZ_CHECK((s == EBM_OK) == (net != NULL));
  ebm_net_free(net);
  net = NULL;
  const char *arch = ebm_safetensors_meta(st, "arch");
  ebm_net_memory mem;
  if (!s && is_json(arch) && ebm_net_plan(arch, 2, &mem) == EBM_OK && mem.work_bytes <= FUZZ_BUILD_BYTES) {
    FUZZ_CHECK(ebm_net_from_safetensors(st, 2, &net) == EBM_OK);
    fuzz_forward_once(net, 2);
    ebm_net_free(net);
  }
  ebm_safetensors_free(st);
  return 0;
}
