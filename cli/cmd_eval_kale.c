/* `ebm eval kale`: the KALE lower bound of KL(ref ‖ samples) between two
 * sample sets (ebm_kale: a small Lipschitz energy fitted on half of each,
 * evaluated on the other halves, with its standard error). */
#include <string.h>

#include "use_common.h"

#define VERB "eval kale"

typedef struct {
  const char *samples, *ref, *json;
  ebm_kale_config cfg;
  int64_t seed;
} kale_flags;

/* 0, -1 after --help, or an exit code. */
static int parse_flags(int argc, char **argv, kale_flags *f) {
  cli_opt opts[] = {
      {"samples", OPT_PATH_IN, &f->samples, "A.npy", "the samples Q (float32, N × any item shape)"},
      {"ref", OPT_PATH_IN, &f->ref, "B.npy", "the reference P (float32, M items of the same shape)"},
      {"iters", OPT_INT, &f->cfg.iters, "K", "Adam steps fitting the energy"},
      {"width", OPT_INT, &f->cfg.width, "W", "hidden units of each of the energy's two layers"},
      {"batch", OPT_INT64, &f->cfg.batch, "B", "items of each set per step (at most 1024)"},
      {"lr", OPT_FLOAT, &f->cfg.lr, "LR", "Adam's learning rate"},
      {"seed", OPT_INT64, &f->seed, "S", "random seed (the halves, the batches, the energy's initialisation)"},
      {"json", OPT_PATH_OUT, &f->json, "FILE", "the result as one JSON object"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!f->samples || !f->ref) return cli_usage_error(VERB, "--samples A.npy and --ref B.npy are required");
  if (f->cfg.iters < 0 || f->cfg.iters > 1000000)
    return cli_usage_error(VERB, "--iters must be in 0..1000000, got %d", f->cfg.iters);
  if (f->cfg.width < 1 || f->cfg.width > 4096) return cli_usage_error(VERB, "--width must be in 1..4096, got %d", f->cfg.width);
  if (f->cfg.batch < 1 || f->cfg.batch > 1024)
    return cli_usage_error(VERB, "--batch must be in 1..1024, got %lld", (long long)f->cfg.batch);
  if (!(f->cfg.lr > 0)) return cli_usage_error(VERB, "--lr must be > 0, got %g", (double)f->cfg.lr);
  f->cfg.seed = (uint64_t)f->seed;
  return 0;
}

/* Floats per item of a (the product of its shape after the first). */
static int64_t item_size(const ebm_npy *a) {
  int64_t d = 1;
  for (int k = 1; k < a->ndim; k++) d *= a->shape[k];
  return d;
}

/* Both sets, float32 and finite, of one item shape (refused naming both). */
static ebm_status load_sets(const kale_flags *f, ebm_npy *a, ebm_npy *b) {
  ebm_status st = ebm_npy_load(f->samples, a);
  if (st == EBM_OK) st = ebm_npy_load(f->ref, b);
  if (st != EBM_OK) return st;
  char sa[64], sb[64];
  ebm_shape_str(a->ndim, a->shape, sa, sizeof sa);
  ebm_shape_str(b->ndim, b->shape, sb, sizeof sb);
  if (a->dtype != EBM_DTYPE_F32 || b->dtype != EBM_DTYPE_F32)
    return ebm_set_error(EBM_ERR_SHAPE, "%s holds %s, %s holds %s: both must be float32",
                         f->samples, ebm_dtype_name(a->dtype), f->ref, ebm_dtype_name(b->dtype));
  if (a->ndim < 2 || a->ndim != b->ndim || memcmp(a->shape + 1, b->shape + 1, (size_t)(a->ndim - 1) * sizeof *a->shape))
    return ebm_set_error(EBM_ERR_SHAPE, "%s has shape %s and %s has shape %s: the sets must be N items of one shape",
                         f->samples, sa, f->ref, sb);
  const int64_t dim = item_size(a);
  if ((st = use_check_finite("samples", f->samples, a->data, a->shape[0] * dim)) != EBM_OK) return st;
  return use_check_finite("ref", f->ref, b->data, b->shape[0] * dim);
}

static ebm_status write_json(const kale_flags *f, const ebm_kale_result *r) {
  ebm_jsonl *j = NULL;
  ebm_status st = ebm_jsonl_object_begin(f->json, &j);
  if (st != EBM_OK) return st;
  ebm_jsonl_str(j, "samples", f->samples);
  ebm_jsonl_str(j, "ref", f->ref);
  ebm_jsonl_num(j, "kale", r->kale);
  ebm_jsonl_num(j, "std_error", r->std_error);
  ebm_jsonl_int(j, "n_fit_samples", r->n_fit_q);
  ebm_jsonl_int(j, "n_fit_ref", r->n_fit_p);
  ebm_jsonl_int(j, "n_test_samples", r->n_test_q);
  ebm_jsonl_int(j, "n_test_ref", r->n_test_p);
  ebm_jsonl_int(j, "iters", f->cfg.iters);
  return ebm_jsonl_object_commit(j); /* atomic: a failure keeps the previous file */
}

static int run_eval_kale(int argc, char **argv) {
  kale_flags f = {.cfg = ebm_kale_defaults()};
  int rc = parse_flags(argc, argv, &f);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  ebm_npy a = {0}, b = {0};
  ebm_kale_result r;
  ebm_status st = load_sets(&f, &a, &b);
  if (st == EBM_OK)
    st = ebm_kale(b.data, b.shape[0], a.data, a.shape[0], item_size(&a), &f.cfg, &r);
  if (st == EBM_ERR_ARG) {
    rc = cli_usage_error(VERB, "%s", ebm_last_error());
  } else if (st == EBM_OK) {
    printf("KALE(ref || samples) %.4f ± %.4f (held out: %lld samples of %s, %lld of %s; energy fitted on the other "
           "halves, %d steps)\n", r.kale, r.std_error, (long long)r.n_test_q, f.samples, (long long)r.n_test_p, f.ref,
           f.cfg.iters);
    if (f.json && (st = write_json(&f, &r)) != EBM_OK) rc = cli_runtime_error(st);
  } else {
    rc = cli_runtime_error(st);
  }
  ebm_npy_free(&a);
  ebm_npy_free(&b);
  return rc;
}

CLI_COMMAND(eval_kale, VERB, "--samples A.npy --ref B.npy [--json F] [options]",
            "KALE lower bound of KL(ref || samples) between two sample sets, with its standard error",
            "KALE(P||Q) = sup_E 1 - E_P[E] - E_Q[exp(-E)] (Arbel, Zhou & Gretton 2021), P = --ref,\n"
            "Q = --samples, E a two-layer MLP with spectral norm (a Lipschitz class) fitted by Adam on\n"
            "a random half of each set and evaluated on the other halves: a lower bound of KL(P||Q),\n"
            "about 0 (within its standard error) for two samples of one distribution. Items of any\n"
            "shape are flattened; both sets must have the same item shape.",
            run_eval_kale)
