/* libFuzzer: ebm_safetensors_parse on arbitrary bytes. Accepted files must
 * expose in-bounds, aligned tensors, and re-serialise to a file that parses
 * to the same tensors and metadata. */
#include "fuzz_common.h"

static void check_same(const ebm_safetensors *a, const ebm_safetensors *b) {
  FUZZ_CHECK(ebm_safetensors_count(a) == ebm_safetensors_count(b));
  for (int i = 0; i < ebm_safetensors_count(a); i++) {
    const ebm_st_tensor *x = ebm_safetensors_at(a, i), *y = ebm_safetensors_at(b, i);
    FUZZ_CHECK(!strcmp(x->name, y->name) && x->dtype == y->dtype && x->ndim == y->ndim);
    FUZZ_CHECK(!memcmp(x->shape, y->shape, (size_t)x->ndim * sizeof x->shape[0]));
    FUZZ_CHECK(x->nbytes == y->nbytes && (!x->nbytes || !memcmp(x->data, y->data, x->nbytes)));
  }
  FUZZ_CHECK(ebm_safetensors_meta_count(a) == ebm_safetensors_meta_count(b));
  for (int i = 0; i < ebm_safetensors_meta_count(a); i++) {
    const char *k, *v;
    ebm_safetensors_meta_at(a, i, &k, &v);
    const char *v2 = ebm_safetensors_meta(b, k);
    FUZZ_CHECK(v2 && !strcmp(v, v2));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ebm_safetensors *st = NULL;
  ebm_status s = ebm_safetensors_parse(data, size, "fuzz.safetensors", &st);
  fuzz_check_message(s);
  if (s) {
    FUZZ_CHECK(st == NULL);
    return 0;
  }
  ebm_st_writer *w = ebm_st_writer_new();
  FUZZ_CHECK(w != NULL);
  for (int i = 0; i < ebm_safetensors_meta_count(st); i++) {
    const char *k, *v;
    ebm_safetensors_meta_at(st, i, &k, &v);
    FUZZ_CHECK(ebm_st_writer_meta(w, k, v) == EBM_OK);
  }
  for (int i = 0; i < ebm_safetensors_count(st); i++) {
    const ebm_st_tensor *t = ebm_safetensors_at(st, i);
    fuzz_touch(t->data, t->nbytes);
    FUZZ_CHECK((uintptr_t)t->data % ebm_dtype_size(t->dtype) == 0 || t->nbytes == 0);
    FUZZ_CHECK(ebm_safetensors_find(st, t->name) == t);
    FUZZ_CHECK(ebm_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data) == EBM_OK);
  }
  uint8_t *again;
  size_t again_size;
  FUZZ_CHECK(ebm_st_writer_serialize(w, &again, &again_size) == EBM_OK);
  ebm_safetensors *st2 = NULL;
  FUZZ_CHECK(ebm_safetensors_parse(again, again_size, "again", &st2) == EBM_OK);
  check_same(st, st2);
  /* Our own output is a fixed point: serialising it again gives the same bytes. */
  ebm_st_writer *w2 = ebm_st_writer_new();
  for (int i = 0; i < ebm_safetensors_meta_count(st2); i++) {
    const char *k, *v;
    ebm_safetensors_meta_at(st2, i, &k, &v);
    FUZZ_CHECK(ebm_st_writer_meta(w2, k, v) == EBM_OK);
  }
  for (int i = 0; i < ebm_safetensors_count(st2); i++) {
    const ebm_st_tensor *t = ebm_safetensors_at(st2, i);
    FUZZ_CHECK(ebm_st_writer_add(w2, t->name, t->dtype, t->ndim, t->shape, t->data) == EBM_OK);
  }
  uint8_t *third;
  size_t third_size;
  FUZZ_CHECK(ebm_st_writer_serialize(w2, &third, &third_size) == EBM_OK);
  FUZZ_CHECK(third_size == again_size && !memcmp(third, again, again_size));
  free(third);
  free(again);
  ebm_st_writer_free(w2);
  ebm_st_writer_free(w);
  ebm_safetensors_free(st2);
  ebm_safetensors_free(st);
  return 0;
}
