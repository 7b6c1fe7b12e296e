/* Tensors: float32, up to 4-D, 64-byte aligned, views without copies. */
#include <stdlib.h>
#include <string.h>

#include "ebm/core.h"

void *ebm_alloc(size_t count, size_t elem_size) {
  if (elem_size && count > SIZE_MAX / elem_size - EBM_ALIGN) {
    ebm_set_error(EBM_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, elem_size);
    return NULL;
  }
  size_t bytes = count * elem_size;
  bytes = (bytes + EBM_ALIGN - 1) / EBM_ALIGN * EBM_ALIGN;
  if (bytes == 0) bytes = EBM_ALIGN;
  void *p = aligned_alloc(EBM_ALIGN, bytes);
  if (!p) {
    ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return NULL;
  }
  memset(p, 0, bytes);
  return p;
}

void ebm_free(void *p) { free(p); }

static void set_contiguous_strides(ebm_tensor *t) {
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    t->stride[d] = s;
    s *= t->shape[d];
  }
}

ebm_tensor *ebm_tensor_new(int ndim, const int64_t *shape) {
  if (ndim < 1 || ndim > EBM_MAX_DIMS) {
    ebm_set_error(EBM_ERR_SHAPE, "tensor rank %d is not in 1..%d", ndim, EBM_MAX_DIMS);
    return NULL;
  }
  int64_t numel = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0 || (shape[d] > 0 && numel > INT64_MAX / shape[d])) {
      ebm_set_error(EBM_ERR_SHAPE, "bad tensor dimension %lld", (long long)shape[d]);
      return NULL;
    }
    numel *= shape[d];
  }
  ebm_tensor *t = calloc(1, sizeof *t);
  if (!t) {
    ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a tensor");
    return NULL;
  }
  t->data = ebm_alloc((size_t)numel, sizeof(float));
  if (!t->data) {
    free(t);
    return NULL;
  }
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  set_contiguous_strides(t);
  t->owns_data = 1;
  return t;
}

ebm_tensor *ebm_tensor_new1(int64_t d0) { return ebm_tensor_new(1, (int64_t[]){d0}); }
ebm_tensor *ebm_tensor_new2(int64_t d0, int64_t d1) {
  return ebm_tensor_new(2, (int64_t[]){d0, d1});
}
ebm_tensor *ebm_tensor_new4(int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  return ebm_tensor_new(4, (int64_t[]){d0, d1, d2, d3});
}

int64_t ebm_tensor_numel(const ebm_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

int64_t ebm_tensor_row_size(const ebm_tensor *t) {
  int64_t n = 1;
  for (int d = 1; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

int ebm_tensor_is_contiguous(const ebm_tensor *t) {
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->shape[d] != 1 && t->stride[d] != s) return 0;
    s *= t->shape[d];
  }
  return 1;
}

ebm_tensor *ebm_tensor_clone(const ebm_tensor *t) {
  ebm_tensor *c = ebm_tensor_new(t->ndim, t->shape);
  if (!c) return NULL;
  if (ebm_tensor_is_contiguous(t)) {
    memcpy(c->data, t->data, (size_t)ebm_tensor_numel(t) * sizeof(float));
    return c;
  }
  int64_t idx[EBM_MAX_DIMS] = {0};
  int64_t n = ebm_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
    c->data[i] = t->data[off];
    for (int d = t->ndim - 1; d >= 0; d--) {
      if (++idx[d] < t->shape[d]) break;
      idx[d] = 0;
    }
  }
  return c;
}

void ebm_tensor_free(ebm_tensor *t) {
  if (!t) return;
  if (t->owns_data) ebm_free(t->data);
  free(t);
}

ebm_status ebm_tensor_view_rows(const ebm_tensor *t, int64_t start, int64_t count,
                                ebm_tensor *out) {
  if (start < 0 || count < 0 || start + count > t->shape[0])
    return ebm_set_error(EBM_ERR_ARG, "rows [%lld, %lld) out of range for %lld rows",
                         (long long)start, (long long)(start + count), (long long)t->shape[0]);
  *out = *t;
  out->owns_data = 0;
  out->data = t->data + start * t->stride[0];
  out->shape[0] = count;
  return EBM_OK;
}

ebm_status ebm_tensor_view_reshape(const ebm_tensor *t, int ndim, const int64_t *shape,
                                   ebm_tensor *out) {
  char a[96], b[96];
  if (ndim < 1 || ndim > EBM_MAX_DIMS)
    return ebm_set_error(EBM_ERR_SHAPE, "reshape to rank %d is not in 1..%d", ndim, EBM_MAX_DIMS);
  int64_t numel = 1;
  for (int d = 0; d < ndim; d++) numel *= shape[d];
  if (numel != ebm_tensor_numel(t) || !ebm_tensor_is_contiguous(t))
    return ebm_set_error(EBM_ERR_SHAPE, "cannot view %s as %s",
                         ebm_shape_str(t->ndim, t->shape, a, sizeof a),
                         ebm_shape_str(ndim, shape, b, sizeof b));
  *out = ebm_tensor_wrap(t->data, ndim, shape);
  return EBM_OK;
}

ebm_tensor ebm_tensor_wrap(float *data, int ndim, const int64_t *shape) {
  ebm_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.ndim = ndim;
  memcpy(t.shape, shape, (size_t)ndim * sizeof *shape);
  set_contiguous_strides(&t);
  return t;
}

char *ebm_shape_str(int ndim, const int64_t *shape, char *buf, size_t size) {
  size_t used = 0;
  used += (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < ndim && used < size; d++)
    used += (size_t)snprintf(buf + used, size - used, d ? ",%lld" : "%lld", (long long)shape[d]);
  if (used < size) snprintf(buf + used, size - used, "]");
  return buf;
}
