/* Diffusion recovery likelihood's sampler (Gao, Song, Poole, Wu, Kingma,
 * ICLR 2021), variance-exploding form: the data x_0 are noised by
 *   x_{t+1} = x_t + s_{t+1}·ε,  t = 0..T−1,
 * and a noise-conditioned energy E(x, s_{t+1}) models level t, so that
 *   p(x_t | x_{t+1}) ∝ exp(−E(x_t, s_{t+1}) − ‖x_{t+1} − x_t‖²/(2s_{t+1}²)),
 * a conditional that the quadratic term keeps close to x_{t+1}: a short
 * Langevin chain started at x_{t+1} samples it (training uses it for the
 * negatives). Each chain's step size is b·s² — the conditional's width s
 * sets the scale — so one b fits every level. Sampling runs the levels
 * from the noisiest down: x_T ~ uniform on the data box + N(0, σ̄_T²)
 * (what the noising chain gives from a data set spread over the box;
 * σ̄_T² = Σ_t s_t²) — or the data's Gaussian + N(0, σ̄_T²), which has the
 * noisiest marginal's mean and covariance exactly — then x_{t} from x_{t+1}
 * for t = T−1..0. The same chain of σ's serves annealed Langevin dynamics
 * (Song & Ermon 2019) for a model trained by denoising score matching:
 * there E(x, σ) is the data noised by σ, so each level runs Langevin on it
 * alone, from x_T = start + N(0, σ_max²). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/sample.h"

float ebm_noise_schedule(int levels, float sigma_min, float sigma_max, int level) {
  if (levels <= 1) return sigma_min;
  const double f = (double)level / (double)(levels - 1); /* level 0: sigma_max */
  return (float)(sigma_max * pow((double)sigma_min / sigma_max, f));
}

float ebm_recovery_sigma(const ebm_recovery_config *cfg, int t) {
  return ebm_noise_schedule(cfg->levels, cfg->sigma_min, cfg->sigma_max, cfg->levels - t);
}

ebm_status ebm_noise_schedule_check(int levels, float sigma_min, float sigma_max) {
  if (levels < 1 || levels > 1000) return ebm_set_error(EBM_ERR_ARG, "levels must be in 1..1000, got %d", levels);
  if (!(sigma_min > 0.0f) || !isfinite(sigma_min))
    return ebm_set_error(EBM_ERR_ARG, "sigma-min must be > 0, got %g", (double)sigma_min);
  if (!(sigma_max >= sigma_min) || !isfinite(sigma_max))
    return ebm_set_error(EBM_ERR_ARG, "sigma-max must be >= sigma-min (%g), got %g", (double)sigma_min,
                         (double)sigma_max);
  return EBM_OK;
}

ebm_status ebm_recovery_config_check(const ebm_recovery_config *cfg) {
  ebm_status st = ebm_noise_schedule_check(cfg->levels, cfg->sigma_min, cfg->sigma_max);
  if (st != EBM_OK) return st;
  if (cfg->steps < 1) return ebm_set_error(EBM_ERR_ARG, "recovery steps must be >= 1, got %d", cfg->steps);
  if (!(cfg->step > 0.0f && cfg->step < 2.0f))
    return ebm_set_error(EBM_ERR_ARG, "recovery-step must be in (0, 2) (× s²), got %g", (double)cfg->step);
  if (cfg->kind != EBM_LEVELS_RECOVERY && cfg->kind != EBM_LEVELS_ANNEALED)
    return ebm_set_error(EBM_ERR_ARG, "unknown kind of chain of levels %d", (int)cfg->kind);
  if (!(cfg->range_lo <= cfg->range_hi))
    return ebm_set_error(EBM_ERR_ARG, "the recovery range must be lo <= hi, got %g,%g", (double)cfg->range_lo,
                         (double)cfg->range_hi);
  return EBM_OK;
}

ebm_status ebm_recovery_conditional(const ebm_energy *en, const float *y, const float *s, int64_t n, int steps,
                                    float b, ebm_rng *rng, float *x, float *e, float *grad, float *z) {
  const int64_t D = ebm_energy_item_size(en);
  const ebm_cond cond = {NULL, s};
  for (int k = 0; k < steps; k++) {
    ebm_status st = ebm_energy_eval(en, x, en->needs_sigma ? &cond : NULL, n, e, grad);
    if (st != EBM_OK) return st;
    ebm_rng_normal(rng, z, n * D, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) {
      const double s2 = (double)s[i] * s[i], eps = b * s2, noise = sqrt(2.0 * eps);
      for (int64_t j = i * D; j < (i + 1) * D; j++) {
        /* ∇ of the conditional's energy; without y, of E alone (annealed Langevin's level) */
        const double drift = y ? grad[j] + (x[j] - (double)y[j]) / s2 : grad[j];
        x[j] = (float)(x[j] - eps * drift + noise * z[j]);
      }
    }
  }
  return EBM_OK;
}

/* Tweedie: E[x_0 | x] = x + σ²·∇log p_σ(x) = x − σ²·∇E(x, σ). */
static ebm_status tweedie_step(const ebm_energy *en, const float *s, int64_t n, float *x, float *e, float *grad) {
  const int64_t D = ebm_energy_item_size(en);
  const ebm_cond cond = {NULL, s};
  ebm_status st = ebm_energy_eval(en, x, en->needs_sigma ? &cond : NULL, n, e, grad);
  if (st != EBM_OK) return st;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = i * D; j < (i + 1) * D; j++) x[j] = (float)(x[j] - (double)s[i] * s[i] * grad[j]);
  return EBM_OK;
}

ebm_status ebm_recovery_sample(const ebm_energy *en, const ebm_recovery_config *cfg, const ebm_energy *start,
                               ebm_rng *rng, int64_t n, float *x, float *levels) {
  ebm_status st = ebm_recovery_config_check(cfg);
  if (st != EBM_OK) return st;
  if (en->needs_sigma == 0 && cfg->levels > 1)
    return ebm_set_error(EBM_ERR_ARG, "%s does not take a noise level: it models one level, not %d", en->name,
                         cfg->levels);
  const int64_t D = ebm_energy_item_size(en), m = n * D;
  float *y = malloc(sizeof(float) * (size_t)m), *grad = malloc(sizeof(float) * (size_t)m),
        *z = malloc(sizeof(float) * (size_t)m), *e = malloc(sizeof(float) * (size_t)n),
        *s = malloc(sizeof(float) * (size_t)n);
  if (!y || !grad || !z || !e || !s) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld recovery chains", (long long)n);
    goto done;
  }
  const int annealed = cfg->kind == EBM_LEVELS_ANNEALED;
  double var = annealed ? (double)cfg->sigma_max * cfg->sigma_max : 0.0;
  for (int t = 1; !annealed && t <= cfg->levels; t++)
    var += (double)ebm_recovery_sigma(cfg, t) * ebm_recovery_sigma(cfg, t);
  if ((st = ebm_chain_start_draw(start, rng, n, D, cfg->range_lo, cfg->range_hi, x)) != EBM_OK) goto done;
  ebm_rng_normal(rng, z, m, 0.0f, (float)sqrt(var));
  for (int64_t j = 0; j < m; j++) x[j] += z[j];
  if (levels) memcpy(levels + (size_t)cfg->levels * (size_t)m, x, sizeof(float) * (size_t)m);
  for (int t = cfg->levels - 1; t >= 0; t--) {
    const float st_next = ebm_recovery_sigma(cfg, t + 1);
    for (int64_t i = 0; i < n; i++) s[i] = st_next;
    if (annealed) {
      st = ebm_recovery_conditional(en, NULL, s, n, cfg->steps, cfg->step, rng, x, e, grad, z);
      if (st == EBM_OK && t == 0 && cfg->denoise) st = tweedie_step(en, s, n, x, e, grad);
    } else {
      memcpy(y, x, sizeof(float) * (size_t)m); /* the chain starts at x_{t+1} */
      st = ebm_recovery_conditional(en, y, s, n, cfg->steps, cfg->step, rng, x, e, grad, z);
    }
    if (st != EBM_OK) goto done;
    if (levels) memcpy(levels + (size_t)t * (size_t)m, x, sizeof(float) * (size_t)m);
  }
done:
  free(y);
  free(grad);
  free(z);
  free(e);
  free(s);
  return st;
}
