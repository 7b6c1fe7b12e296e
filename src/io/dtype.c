/* Element types shared by safetensors and .npy. */
#include "io/io_internal.h"

size_t ebm_dtype_size(ebm_dtype dtype) {
  switch (dtype) {
    case EBM_DTYPE_U8: return 1;
    case EBM_DTYPE_F32:
    case EBM_DTYPE_I32:
    case EBM_DTYPE_U32: return 4;
    case EBM_DTYPE_I64:
    case EBM_DTYPE_F64: return 8;
  }
  return 0;
}

const char *ebm_dtype_name(ebm_dtype dtype) {
  switch (dtype) {
    case EBM_DTYPE_F32: return "F32";
    case EBM_DTYPE_U8: return "U8";
    case EBM_DTYPE_I32: return "I32";
    case EBM_DTYPE_I64: return "I64";
    case EBM_DTYPE_F64: return "F64";
    case EBM_DTYPE_U32: return "U32";
  }
  return "?";
}
