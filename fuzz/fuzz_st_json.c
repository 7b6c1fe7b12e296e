/* libFuzzer: the safetensors header parser on arbitrary JSON text (the
 * __metadata__ and tensor-table logic), without the fuzzer having to learn
 * the 8-byte length prefix. Input: [u16 LE data size][header text]; we
 * build length + header + that many data bytes and parse it. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t data_size = (size_t)data[0] | (size_t)data[1] << 8;
  size_t hlen = size - 2;
  size_t total = 8 + hlen + data_size;
  uint8_t *file = malloc(total);
  FUZZ_CHECK(file != NULL);
  for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  memcpy(file + 8, data + 2, hlen);
  for (size_t i = 0; i < data_size; i++) file[8 + hlen + i] = (uint8_t)(i * 31);
  ebm_safetensors *st = NULL;
  ebm_status s = ebm_safetensors_parse(file, total, "fuzz.json", &st);
  fuzz_check_message(s);
  if (s == EBM_OK) {
    size_t covered = 0;
    for (int i = 0; i < ebm_safetensors_count(st); i++) {
      const ebm_st_tensor *t = ebm_safetensors_at(st, i);
      fuzz_touch(t->data, t->nbytes);
      covered += t->nbytes;
    }
    FUZZ_CHECK(covered == data_size); /* tensors tile the data exactly */
    for (int i = 0; i < ebm_safetensors_meta_count(st); i++) {
      const char *k, *v;
      ebm_safetensors_meta_at(st, i, &k, &v);
      FUZZ_CHECK(ebm_safetensors_meta(st, k) == v);
    }
  } else {
    FUZZ_CHECK(st == NULL);
  }
  ebm_safetensors_free(st);
  free(file);
  return 0;
}
