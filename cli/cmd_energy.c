/* `ebm energy`: energies E(x[, y]) of a batch of inputs under a checkpoint,
 * and optionally dE/dx, evaluated in chunks of the built batch. Inputs are
 * used as they are: no rescaling to the model's range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
  const ebm_energy *en;
  float *e, *g;  /* (N), (N, item) or NULL */
  int64_t item;
} energy_ctx;

static ebm_status energy_chunk(void *ctx, const float *x, const ebm_cond *cond, int64_t start, int64_t count) {
  energy_ctx *c = ctx;
  return ebm_energy_eval(c->en, x, cond, count, c->e + start, c->g ? c->g + start * c->item : NULL);
}

static int run_energy(int argc, char **argv) {
  const char *ckpt = NULL, *input = NULL, *labels = NULL, *sigma = NULL, *out = NULL, *grad = NULL;
  int64_t batch = 256;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "model checkpoint (.safetensors)"},
      {"input", OPT_PATH_IN, &input, "X.npy", "inputs, float32 (N, C, H, W) or (N, D)"},
      {"labels", OPT_PATH_IN, &labels, "Y.npy", "class labels (N) for a class-conditional model"},
      {"sigma", OPT_PATH_IN, &sigma, "S.npy", "noise levels (N), float32, for a noise-conditioned model"},
      {"out", OPT_PATH_OUT, &out, "E.npy", "energies (N), float32"},
      {"grad", OPT_PATH_OUT, &grad, "G.npy", "also write dE/dx, the shape of X"},
      {"batch", OPT_INT64, &batch, "B", "items per network pass"},
  };
  int rc = cli_parse("energy", opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!ckpt || !input || !out) return cli_usage_error("energy", "--ckpt, --input and --out are required");
  if (batch < 1 || batch > (1 << 20)) return cli_usage_error("energy", "--batch must be in [1, %d], got %lld", 1 << 20, (long long)batch);

  cli_model_inputs m;
  float *e = NULL, *g = NULL;
  ebm_status st = EBM_OK;
  if ((rc = cli_model_inputs_load("energy", ckpt, input, labels, sigma, batch, &m))) goto done;
  const ebm_energy *en = m.en; /* a network's energy (a classifier's: −logsumexp / −f(x)[y], JEM), or a flow's exact −log q */
  int64_t n = m.n, item = m.item;
  e = ebm_alloc((size_t)(n > 0 ? n : 1), sizeof *e);
  if (!e || (grad && !(g = ebm_alloc((size_t)(n * item > 0 ? n * item : 1), sizeof *g)))) {
    st = EBM_ERR_NOMEM;
    goto fail;
  }
  energy_ctx ctx = {en, e, g, item};
  if ((st = cli_model_inputs_each_chunk(&m, "energy", en->max_batch, energy_chunk, &ctx))) goto fail;
  if ((st = ebm_npy_save(out, EBM_DTYPE_F32, 1, &n, e))) goto fail;
  if (g && (st = ebm_npy_save(grad, EBM_DTYPE_F32, m.x.ndim, m.x.shape, g))) goto fail;
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) sum += e[i], lo = fmin(lo, e[i]), hi = fmax(hi, e[i]);
  printf("wrote %s: %lld energies", out, (long long)n);
  if (n > 0) printf(", mean %.6g, min %.6g, max %.6g", sum / (double)n, lo, hi);
  printf("%s%s\n", g ? "; gradients in " : "", g ? grad : "");
  rc = CLI_EXIT_OK;
  goto done;
fail:
  rc = cli_runtime_error(st);
done:
  ebm_free(e);
  ebm_free(g);
  cli_model_inputs_free(&m);
  return rc;
}

CLI_COMMAND(energy, "energy", "--ckpt CKPT --input X.npy --out E.npy [--labels Y.npy] [--sigma S.npy] [--grad G.npy]",
            "energies (and dE/dx) of inputs under a model",
            "Evaluates E(x) (or E(x, y) with --labels, E(x, σ) with --sigma) for every item of X.npy, in chunks of\n"
            "--batch items, and writes the energies (low = likely) as a float32 .npy of shape\n"
            "(N); --grad also writes dE/dx with the shape of X. X must be float32 with the\n"
            "model's item shape; values are used as they are (no rescaling). For a flow (ebm train\n"
            "--method flow) the energy is the exact -log q(x). On a classifier (K logits f(x), e.g. a\n"
            "--method jem model) E(x) = -logsumexp_y f(x)[y] and, with --labels, E(x, y) = -f(x)[y] (JEM).",
            run_energy)
