/* `ebm eval fid`: sample quality as the Fréchet distance and the kernel
 * inception distance between samples and reference data in the penultimate
 * feature space of a classifier trained with `ebm classifier train` (the
 * protocol of FID/KID with a domain classifier in place of Inception). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "eval fid"
#define CLF_BATCH 256

/* Loads the samples as N×C×H×W in the classifier's range: float32 N×C×H×W,
 * N×H×W (one channel) or N×(C·H·W), mapped from [lo, hi] and clamped. */
static ebm_status load_samples(const char *path, const ebm_classifier_arch *a, float lo, float hi, ebm_tensor **out) {
  ebm_npy npy;
  ebm_status st = ebm_npy_load(path, &npy);
  if (st != EBM_OK) return st;
  const int64_t item = (int64_t)a->channels * a->height * a->width;
  int64_t rest = 1;
  for (int d = 1; d < npy.ndim; d++) rest *= npy.shape[d];
  char got[64];
  if (npy.dtype != EBM_DTYPE_F32 || npy.ndim < 2 || rest != item || npy.shape[0] < 2) {
    ebm_shape_str(npy.ndim, npy.shape, got, sizeof got);
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: holds %s %s; need float32 samples of %d×%d×%d values (at least 2)", path,
                       ebm_dtype_name(npy.dtype), got, a->channels, a->height, a->width);
    ebm_npy_free(&npy);
    return st;
  }
  ebm_tensor *t = ebm_tensor_new4(npy.shape[0], a->channels, a->height, a->width);
  if (!t) {
    ebm_npy_free(&npy);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %s", path);
  }
  const float *src = npy.data;
  cli_warn_outside_range(VERB, path, src, npy.shape[0] * item, lo, hi, "--range");
  const double scale = ((double)a->range_hi - a->range_lo) / ((double)hi - lo);
  for (int64_t k = 0; k < npy.shape[0] * item; k++) {
    if (!isfinite(src[k])) {
      st = ebm_set_error(EBM_ERR_NUMERIC, "%s: value %lld of sample %lld is %g", path, (long long)(k % item),
                         (long long)(k / item), (double)src[k]);
      break;
    }
    float v = (float)(a->range_lo + (src[k] - lo) * scale);
    t->data[k] = v < a->range_lo ? a->range_lo : (v > a->range_hi ? a->range_hi : v);
  }
  ebm_npy_free(&npy);
  if (st != EBM_OK) {
    ebm_tensor_free(t);
    return st;
  }
  *out = t;
  return EBM_OK;
}

typedef struct {
  const char *samples, *ref, *clf_path, *range, *json;
  int64_t n, subset, seed;
  int subsets;
  float lo, hi;
} fid_flags;

/* 0, -1 after --help, or an exit code. */
static int parse_flags(int argc, char **argv, fid_flags *f) {
  cli_opt opts[] = {
      {"samples", OPT_PATH_IN, &f->samples, "S.npy", "samples to measure (float32, N×C×H×W or N×H×W)"},
      {"ref", OPT_SPEC_IN, &f->ref, "SPEC", "reference data set"},
      {"classifier", OPT_PATH_IN, &f->clf_path, "CLF.safetensors", "feature network from `ebm classifier train`"},
      {"range", OPT_STRING, &f->range, "LO,HI", "value range of the samples (default: the classifier's); mapped onto it"},
      {"n", OPT_INT64, &f->n, "N", "reference items (a random subset; 0: all)"},
      {"kid-subsets", OPT_INT, &f->subsets, "K", "KID: number of random subset pairs"},
      {"kid-subset-size", OPT_INT64, &f->subset, "M", "KID: rows per subset (capped by the set sizes)"},
      {"seed", OPT_INT64, &f->seed, "S", "random seed (reference subset, KID subsets)"},
      {"json", OPT_PATH_OUT, &f->json, "FILE", "the results as one JSON object"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!f->samples) return cli_usage_error(VERB, "--samples S.npy is required");
  if (!f->clf_path) return cli_usage_error(VERB, "--classifier CLF.safetensors is required (train one with `ebm classifier train`)");
  if (f->n < 0) return cli_usage_error(VERB, "--n must be >= 0 (0: all), got %lld", (long long)f->n);
  if (f->subsets < 1) return cli_usage_error(VERB, "--kid-subsets must be >= 1, got %d", f->subsets);
  if (f->subset < 2) return cli_usage_error(VERB, "--kid-subset-size must be >= 2, got %lld", (long long)f->subset);
  if (f->range) return cli_parse_range(VERB, f->range, &f->lo, &f->hi);
  return 0;
}

/* The reference set in the classifier's space: a data set whole unless
 * --n; noise / constant references --n or 10000 items. 0 or an exit code
 * (other failures in *st). */
static int make_reference(const fid_flags *f, const ebm_classifier_arch *a, ebm_rng *pick, ebm_tensor **xr,
                          ebm_status *st) {
  const int64_t shape[3] = {a->channels, a->height, a->width};
  const int synthetic = strncmp(f->ref, "noise:", 6) == 0 || strcmp(f->ref, "constant") == 0;
  const int64_t want = f->n > 0 ? f->n : (synthetic ? 10000 : INT64_MAX / 2);
  *st = ebm_ood_set_make(f->ref, 3, shape, a->range_lo, a->range_hi, want, pick, xr);
  if (*st != EBM_ERR_ARG) return 0;
  *st = EBM_OK;
  return cli_usage_error(VERB, "--ref %s", ebm_last_error());
}

typedef struct {
  int64_t ns, nr, features, kid_size;
  double fd, kid, kid_std;
} fid_result;

/* Both sets through the classifier's penultimate layer, then FD and KID. */
static ebm_status measure(ebm_classifier *c, const fid_flags *f, const ebm_tensor *xs, const ebm_tensor *xr,
                          ebm_rng *rng, fid_result *r) {
  const int64_t ns = xs->shape[0], nr = xr->shape[0], F = ebm_classifier_get_arch(c)->features;
  float *fs = malloc((size_t)(ns * F) * sizeof *fs), *fr = malloc((size_t)(nr * F) * sizeof *fr);
  ebm_status st = EBM_OK;
  if (!fs || !fr) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld features", (long long)((ns + nr) * F));
  if (st == EBM_OK) st = ebm_classifier_run(c, xs->data, ns, NULL, fs);
  if (st == EBM_OK) st = ebm_classifier_run(c, xr->data, nr, NULL, fr);
  if (st == EBM_OK) st = ebm_frechet_distance_features(fs, ns, fr, nr, F, &r->fd);
  if (st == EBM_OK) st = ebm_kid(fs, ns, fr, nr, F, f->subset, f->subsets, rng, &r->kid, &r->kid_std);
  r->ns = ns;
  r->nr = nr;
  r->features = F;
  r->kid_size = f->subset < ns ? f->subset : ns;
  r->kid_size = r->kid_size < nr ? r->kid_size : nr;
  free(fs);
  free(fr);
  return st;
}

static ebm_status write_json(const fid_flags *f, const fid_result *r) {
  ebm_jsonl *j = NULL;
  ebm_status st = ebm_jsonl_object_begin(f->json, &j);
  if (st != EBM_OK) return st;
  ebm_jsonl_str(j, "samples", f->samples);
  ebm_jsonl_str(j, "ref", f->ref);
  ebm_jsonl_str(j, "classifier", f->clf_path);
  ebm_jsonl_int(j, "n_samples", r->ns);
  ebm_jsonl_int(j, "n_ref", r->nr);
  ebm_jsonl_int(j, "features", r->features);
  ebm_jsonl_num(j, "fd", r->fd);
  ebm_jsonl_num(j, "kid", r->kid);
  ebm_jsonl_num(j, "kid_std", r->kid_std);
  ebm_jsonl_int(j, "kid_subsets", f->subsets);
  ebm_jsonl_int(j, "kid_subset_size", r->kid_size);
  return ebm_jsonl_object_commit(j); /* atomic: a failure keeps the previous file */
}

static int run_eval_fid(int argc, char **argv) {
  fid_flags f = {.ref = "fashion-mnist:test", .subset = 1000, .subsets = 100};
  int rc = parse_flags(argc, argv, &f);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  ebm_classifier *c = NULL;
  ebm_tensor *xs = NULL, *xr = NULL;
  fid_result r;
  ebm_status st = ebm_classifier_load(f.clf_path, CLF_BATCH, &c);
  if (st != EBM_OK) return cli_runtime_error(st);
  const ebm_classifier_arch *a = ebm_classifier_get_arch(c);
  if (!f.range) {
    f.lo = a->range_lo;
    f.hi = a->range_hi;
  }
  if ((st = load_samples(f.samples, a, f.lo, f.hi, &xs)) != EBM_OK) goto done;
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  ebm_rng pick = ebm_rng_split(&rng, 1);
  if ((rc = make_reference(&f, a, &pick, &xr, &st)) || st != EBM_OK) goto done;
  if ((st = measure(c, &f, xs, xr, &rng, &r)) != EBM_OK) goto done;
  printf("%s: %lld samples of %s vs %lld items of %s, %lld features of %s\n", VERB, (long long)r.ns, f.samples,
         (long long)r.nr, f.ref, (long long)r.features, f.clf_path);
  printf("FD   %.4f\n", r.fd);
  printf("KID  %.6f ± %.6f   (%d subsets of %lld; std over subsets)\n", r.kid, r.kid_std, f.subsets,
         (long long)r.kid_size);
  if (f.json) st = write_json(&f, &r);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_tensor_free(xs);
  ebm_tensor_free(xr);
  ebm_classifier_free(c);
  return rc;
}

CLI_COMMAND(eval_fid, VERB, "--samples S.npy --ref SPEC --classifier CLF.safetensors [options]",
            "Fréchet distance and KID of samples in a classifier's feature space",
            "Maps samples and reference items through the classifier's penultimate layer (F\n"
            "features) and reports the Fréchet distance of Gaussians fitted to the two feature\n"
            "sets (matrix square root by LAPACK) and the kernel inception distance: the unbiased\n"
            "MMD^2 with the kernel (a.b/F + 1)^3, mean and std over random subset pairs. Samples\n"
            "in another range than the classifier's (e.g. -1,1 from uva-cnn) need --range.",
            run_eval_fid)
