/* `ebm sample --ckpt M` on a model with a generator (gebm, coop,
 * latent-ebm): the flags become an ebm_gen_model_sample call (sample.h),
 * whose samples go to --out and --png. */
#include <stdio.h>
#include <string.h>

#include "sample_generator.h"

/* The sampler: --sampler and friends over the model's own — for latent
 * space of gebm / coop MALA's defaults (the trained sampler moved x, not
 * z), else the sampler the checkpoint records (the one it was trained
 * with), else Langevin's. */
static int sampler_for(const char *verb, const sample_generator_args *a, const ebm_gen_model *m,
                       ebm_gen_space space, ebm_sampler_config *cfg) {
  ebm_sampler_config base = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  int found = 0;
  if (space == EBM_GEN_SPACE_LATENT && !m->latent_prior) {
    base = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  } else {
    ebm_status st = ebm_sampler_config_from_checkpoint(a->ckpt, &base, &found);
    if (st != EBM_OK) return cli_runtime_error(st);
  }
  return use_sampler_config_from(verb, a->sf, &base, cfg);
}

/* What the samples are, for the summary line. */
static const char *space_text(const ebm_gen_model *m, ebm_gen_space space) {
  if (space == EBM_GEN_SPACE_GENERATOR) return "G(z), z ~ N(0, I), the generator alone";
  if (space == EBM_GEN_SPACE_DATA) return "chains on E(x) started at G(z)";
  return m->latent_prior ? "G(z), z from the prior exp(-E(z))N(z; 0, I)"
                         : "G(z), z from the latent posterior N(z; 0, I)exp(-E(G(z)))";
}

/* latent-ebm's pictures: G(z) has no energy on x to carry the data's range,
 * but a sigmoid or tanh last layer bounds it to [0, 1] or [−1, 1]; without
 * one, use_range falls back to the toys' box. */
static void generator_range(const ebm_net *g, ebm_energy *shape) {
  ebm_layer_info last;
  if (ebm_net_layer_info(g, ebm_net_layer_count(g) - 1, &last) != EBM_OK) return;
  if (strcmp(last.type, "sigmoid") == 0) shape->range_lo = 0.0f, shape->range_hi = 1.0f;
  if (strcmp(last.type, "tanh") == 0) shape->range_lo = -1.0f, shape->range_hi = 1.0f;
}

/* --latents Z.npy: a->mixture components fitted to its rows, which must be
 * z's of m's generator. 0 or an exit code. */
static int fit_latents(const char *verb, const sample_generator_args *a, ebm_gen_model *m, ebm_gmm **density,
                       int64_t *count) {
  ebm_npy z = {0};
  int64_t latent = 1;
  for (int d = 0; d < ebm_net_item_ndim(m->generator); d++) latent *= ebm_net_item_shape(m->generator)[d];
  ebm_status st = ebm_npy_load(a->latents, &z);
  if (st != EBM_OK) return cli_runtime_error(st);
  int rc = 0;
  if (z.dtype != EBM_DTYPE_F32 || z.ndim != 2 || z.shape[1] != latent) {
    char got[64];
    ebm_shape_str(z.ndim, z.shape, got, sizeof got);
    rc = cli_usage_error(verb, "--latents %s: holds %s%s; %s's generator takes z of %lld, so (N, %lld) float32", a->latents,
                         got, z.dtype != EBM_DTYPE_F32 ? " (not float32)" : "", a->ckpt, (long long)latent,
                         (long long)latent);
    goto done;
  }
  ebm_gmm_config cfg = {.components = a->mixture, .max_iters = 200, .reg = 1e-3f, .seed = (uint64_t)a->seed};
  if ((st = ebm_gmm_fit(z.data, z.shape[0], latent, &cfg, density)) != EBM_OK) {
    char detail[512];
    snprintf(detail, sizeof detail, "%s", ebm_last_error());
    rc = st == EBM_ERR_ARG ? cli_usage_error(verb, "--latents %s: %s", a->latents, detail)
                           : cli_runtime_error(ebm_set_error(st, "--latents %s: %s", a->latents, detail));
  }
  *count = z.shape[0];
done:
  ebm_npy_free(&z);
  return rc;
}

int sample_generator_run(const char *verb, const sample_generator_args *a) {
  ebm_gen_model m;
  ebm_sampler_config cfg;
  float *x = NULL, *e = NULL;
  ebm_gmm *density = NULL;
  int rc = 0;
  ebm_status st = ebm_gen_model_open(a->ckpt, USE_MAX_NET_BATCH, &m);
  if (st == EBM_ERR_ARG) {
    rc = cli_usage_error(verb, "%s", ebm_last_error());
    goto done;
  }
  if (st != EBM_OK) goto fail;
  ebm_gen_space space = a->from_generator ? EBM_GEN_SPACE_GENERATOR : EBM_GEN_SPACE_DEFAULT;
  if (a->latents && (a->space || a->from_generator)) {
    rc = cli_usage_error(verb, "--latents and --%s both say where z comes from: give one",
                         a->space ? "space" : "from-generator");
    goto done;
  }
  if (a->space) {
    const int k = ebm_gen_space_from_name(a->space);
    if (k != EBM_GEN_SPACE_LATENT && k != EBM_GEN_SPACE_DATA) {
      rc = cli_usage_error(verb, "--space expects latent or data, got '%s'", a->space);
      goto done;
    }
    if (a->from_generator) {
      rc = cli_usage_error(verb, "--space %s and --from-generator both say where samples come from: give one", a->space);
      goto done;
    }
    space = (ebm_gen_space)k;
  }
  if (space == EBM_GEN_SPACE_DEFAULT) space = ebm_gen_model_default_space(&m);
  if (space == EBM_GEN_SPACE_DATA && m.latent_prior) {
    rc = cli_usage_error(verb, "--space data: %s is a latent-ebm model, its energy is a prior on z (use --space latent)",
                         a->ckpt);
    goto done;
  }
  if ((rc = sampler_for(verb, a, &m, space, &cfg))) goto done;
  /* the items' shape is the generator's output: the energy of gebm / coop,
   * or one that describes G's output for latent-ebm (no density to draw) */
  ebm_energy shape = {.name = "the generator", .item_ndim = ebm_net_out_ndim(m.generator)};
  memcpy(shape.item_shape, ebm_net_out_shape(m.generator), (size_t)shape.item_ndim * sizeof *shape.item_shape);
  generator_range(m.generator, &shape);
  const ebm_energy *items = m.data_energy ? m.data_energy : &shape;
  if ((rc = use_check_picture(verb, "png", a->png, items))) goto done;
  if (a->png && !m.data_energy && !use_is_image(items)) {
    rc = cli_usage_error(verb, "--png: %s is a latent-ebm model of points, with no density in x to draw them on",
                         a->ckpt);
    goto done;
  }
  const int64_t item = ebm_energy_item_size(items);
  x = ebm_alloc((size_t)(a->n * item), sizeof *x);
  e = ebm_alloc((size_t)a->n, sizeof *e);
  if (!x || !e) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld samples", (long long)a->n);
    goto fail;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)a->seed);
  char fitted[512] = "";
  if (a->latents) {
    int64_t count = 0;
    if ((rc = fit_latents(verb, a, &m, &density, &count))) goto done;
    if ((st = ebm_gen_model_sample_fitted(&m, density, a->n, &rng, NULL, x)) != EBM_OK) goto fail;
    snprintf(fitted, sizeof fitted, "G(z), z from a %lld-component Gaussian mixture fitted to the %lld latents of %s: "
             "log-likelihood %.4g per latent, %d EM steps", (long long)ebm_gmm_components(density), (long long)count,
             a->latents, ebm_gmm_log_likelihood(density), ebm_gmm_iterations(density));
  } else if ((st = ebm_gen_model_sample(&m, space, &cfg, a->n, &rng, x)) != EBM_OK) {
    goto fail;
  }
  float lo, hi;
  use_range(items, -(float)EBM_TOY_EXTENT, (float)EBM_TOY_EXTENT, &lo, &hi);
  if ((st = use_save_items(a->out, items, x, a->n)) != EBM_OK ||
      (st = use_write_picture(a->png, items, lo, hi, 0, 1.0f, x, a->n)) != EBM_OK)
    goto fail;
  char energy_text[64] = "";
  if (m.data_energy) {
    if ((st = ebm_energy_eval(m.data_energy, x, NULL, a->n, e, NULL)) != EBM_OK) goto fail;
    snprintf(energy_text, sizeof energy_text, ", mean energy %.6g", use_mean(e, a->n));
  }
  char how[96] = "";
  if (a->latents) {
    printf("%s fitted: %lld samples (%s)%s -> %s\n", m.method, (long long)a->n, fitted, energy_text, a->out);
    goto done;
  }
  if (space != EBM_GEN_SPACE_GENERATOR)
    snprintf(how, sizeof how, "%s %d steps, eps %g, T %g; ", ebm_sampler_name(cfg.kind), cfg.steps,
             (double)cfg.step_size, (double)cfg.temperature);
  printf("%s %s: %lld samples (%s%s)%s -> %s\n", m.method, ebm_gen_space_name(space), (long long)a->n, how,
         space_text(&m, space), energy_text, a->out);
  goto done;
fail:
  rc = cli_runtime_error(st);
done:
  ebm_free(x);
  ebm_free(e);
  ebm_gmm_free(density);
  ebm_gen_model_close(&m);
  return rc;
}
