/* `ebm reconstruct`: a latent-space EBM's reconstructions of inputs
 * (ebm_latent_reconstruct: z by short-run MCMC on the posterior p(z|x),
 * then G(z)), written as .npy, with their mean squared error. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "reconstruct"

/* The checkpoint's prior, generator, σ and trained sampler; --steps /
 * --step-size override the sampler. 0 or an exit code. */
static int load_model(const char *ckpt, int steps, float step_size, int64_t batch, ebm_net **prior, ebm_net **g,
                      float *sigma, ebm_sampler_config *cfg) {
  ebm_safetensors *st_file = NULL;
  ebm_status st = ebm_safetensors_load(ckpt, &st_file);
  if (st != EBM_OK) return cli_runtime_error(st);
  const char *space = ebm_safetensors_meta(st_file, "space"), *noise = ebm_safetensors_meta(st_file, "obs_noise");
  const int latent = space && strcmp(space, "latent") == 0 && noise;
  *sigma = noise ? strtof(noise, NULL) : 0.0f;
  ebm_safetensors_free(st_file);
  if (!latent)
    return cli_usage_error(VERB, "%s is not a latent-space EBM (train one with --method latent-ebm)", ckpt);
  int found = 0;
  *cfg = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  if ((st = ebm_sampler_config_from_checkpoint(ckpt, cfg, &found)) != EBM_OK ||
      (st = ebm_net_load(ckpt, batch, prior)) != EBM_OK ||
      (st = ebm_net_load_part(ckpt, "generator", batch, g)) != EBM_OK)
    return cli_runtime_error(st);
  if (steps >= 0) cfg->steps = steps;
  if (step_size > 0) cfg->step_size = step_size;
  return 0;
}

static int run_reconstruct(int argc, char **argv) {
  const char *ckpt = NULL, *input = NULL, *out = NULL, *latents_out = NULL;
  int steps = -1;
  float step_size = 0;
  int64_t seed = 0, batch = 256;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "a latent-ebm checkpoint (ebm train --method latent-ebm)"},
      {"input", OPT_PATH_IN, &input, "X.npy", "the items to reconstruct, float32 (N, the generator's output shape)"},
      {"out", OPT_PATH_OUT, &out, "R.npy", "their reconstructions G(z), float32, the same shape"},
      {"latents-out", OPT_PATH_OUT, &latents_out, "Z.npy", "also write the posterior latents z, float32 (N, latent dim): "
       "what ebm sample --latents fits a density to"},
      {"steps", OPT_INT, &steps, "K", "posterior MCMC steps (default: the model's training sampler)"},
      {"step-size", OPT_FLOAT, &step_size, "EPS", "the sampler's step size (default: the model's)"},
      {"batch", OPT_INT64, &batch, "B", "chains per sampler run"},
      {"seed", OPT_INT64, &seed, "S", "random seed"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!ckpt || !input || !out) return cli_usage_error(VERB, "--ckpt, --input and --out are required");
  if (batch < 1 || batch > (1 << 20))
    return cli_usage_error(VERB, "--batch must be in [1, %d], got %lld", 1 << 20, (long long)batch);
  if (steps > 1000000) return cli_usage_error(VERB, "--steps must be <= 1000000, got %d", steps);

  ebm_net *prior = NULL, *g = NULL;
  ebm_npy x = {0};
  float *r = NULL, *z = NULL, sigma = 0;
  ebm_sampler_config cfg;
  ebm_status st = EBM_OK;
  if ((rc = load_model(ckpt, steps, step_size, batch, &prior, &g, &sigma, &cfg))) goto done;
  if ((st = ebm_npy_load(input, &x)) != EBM_OK) goto fail;
  const int ndim = ebm_net_out_ndim(g);
  /* volumes N×C×D×H×W are N×(C·D)×H×W to a network, as ebm_dataset_load folds them */
  const int five = x.ndim == 5;
  const int64_t folded[4] = {x.shape[0], x.shape[1] * x.shape[2], x.shape[3], x.shape[4]};
  const int64_t *xs = five ? folded : x.shape;
  const int xd = five ? 4 : x.ndim;
  char want[64], got[64];
  ebm_shape_str(ndim, ebm_net_out_shape(g), want, sizeof want);
  ebm_shape_str(x.ndim > 0 ? x.ndim - 1 : 0, x.shape + 1, got, sizeof got);
  if (x.dtype != EBM_DTYPE_F32 || xd != ndim + 1 || xs[0] < 1 ||
      memcmp(xs + 1, ebm_net_out_shape(g), (size_t)ndim * sizeof *xs) != 0) {
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: items of shape %s%s, the generator of %s makes %s", input, got,
                       x.dtype != EBM_DTYPE_F32 ? " (not float32)" : "", ckpt, want);
    goto fail;
  }
  const int64_t n = x.shape[0], m = n * ebm_net_out_size(g);
  if (!(r = ebm_alloc((size_t)m, sizeof *r))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for %lld reconstructions", out, (long long)n);
    goto fail;
  }
  int64_t latent = 1;
  for (int d = 0; d < ebm_net_item_ndim(g); d++) latent *= ebm_net_item_shape(g)[d];
  if (latents_out && !(z = ebm_alloc((size_t)(n * latent), sizeof *z))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for %lld latents", latents_out, (long long)n);
    goto fail;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)seed);
  double mse = 0;
  const int64_t zshape[2] = {n, latent};
  if ((st = ebm_latent_reconstruct(prior, g, sigma, &cfg, x.data, n, &rng, z, r, &mse)) != EBM_OK ||
      (st = ebm_npy_save(out, EBM_DTYPE_F32, x.ndim, x.shape, r)) != EBM_OK ||
      (latents_out && (st = ebm_npy_save(latents_out, EBM_DTYPE_F32, 2, zshape, z)) != EBM_OK))
    goto fail;
  printf("wrote %s: %lld reconstructions, MSE %.6g (posterior %s, %d steps, eps %g, sigma %g)\n", out, (long long)n,
         mse, ebm_sampler_name(cfg.kind), cfg.steps, (double)cfg.step_size, (double)sigma);
  rc = CLI_EXIT_OK;
  goto done;
fail:
  rc = cli_runtime_error(st);
done:
  ebm_free(r);
  ebm_free(z);
  ebm_npy_free(&x);
  ebm_net_free(prior);
  ebm_net_free(g);
  return rc;
}

CLI_COMMAND(reconstruct, "reconstruct", "--ckpt CKPT --input X.npy --out R.npy [--latents-out Z.npy] [--steps K] [--step-size EPS]",
            "a latent-space EBM's reconstructions of inputs, with their MSE",
            "For a model of `ebm train --method latent-ebm`: each item x of X.npy gets z from\n"
            "short-run MCMC on the posterior p(z|x) ∝ exp(-E(z))·N(z; 0, I)·N(x; G(z), σ²I),\n"
            "started at N(0, I), with the sampler the model was trained with (--steps and\n"
            "--step-size override it), and its reconstruction G(z). Writes them to R.npy and\n"
            "prints the mean squared error over every value. --latents-out writes the\n"
            "latents z too, one row per item: `ebm sample --ckpt CKPT --latents Z.npy` then\n"
            "draws z from a Gaussian mixture fitted to them (ex-post density estimation).",
            run_reconstruct)
