/* The generator of the energy + generator methods (train_generator.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/train_generator.h"

ebm_status train_generator_check(const ebm_train_config *cfg) {
  const ebm_generator_config *g = &cfg->generator;
  if (g->latent_dim < 0 || g->latent_dim > (1 << 20))
    return ebm_set_error(EBM_ERR_ARG, "latent-dim must be in [0, %d], got %d", 1 << 20, g->latent_dim);
  if (!(g->lr >= 0) || !isfinite(g->lr))
    return ebm_set_error(EBM_ERR_ARG, "generator-lr must be >= 0 and finite, got %g", (double)g->lr);
  return EBM_OK;
}

/* A point cloud: items 1×P×3 (an (n, P, 3) .npy), not a volume. A
 * 1-channel image 3 pixels wide is read as one too: no image preset takes
 * a width of 3 (conv-generator needs multiples of 4). */
static int train_data_is_cloud(const ebm_dataset *ds) {
  const int64_t *s = ds->x->shape + 1;
  return ds->x->ndim == 4 && !ds->depth && s[0] == 1 && s[2] == 3;
}

/* The volumes with a preset pair (C = 1, D×side×side, values in [0, 1]). */
typedef struct {
  int64_t depth, side;
  const char *what, *values, *energy, *generator;
} volume_preset;

static const volume_preset volume_presets[] = {
    {32, 32, "voxel", "occupancies", "voxelnet", "voxel-generator"},  /* 1×32³ voxel grids */
    {16, 64, "video", "grey levels", "video-st", "video-generator"},  /* 1×16×64×64 videos */
};

/* The volume preset whose shape the data's items have, or NULL. */
static const volume_preset *volume_of(const ebm_dataset *ds) {
  const int64_t *s = ds->x->shape + 1;
  for (size_t i = 0; i < sizeof volume_presets / sizeof *volume_presets; i++) {
    const volume_preset *v = &volume_presets[i];
    if (ds->x->ndim == 4 && ds->depth == v->depth && s[0] == v->depth && s[1] == v->side && s[2] == v->side) return v;
  }
  return NULL;
}

const char *ebm_train_generator_energy_recipe(const ebm_dataset *ds) {
  if (train_data_is_cloud(ds)) return "pointnet";
  const volume_preset *v = volume_of(ds);
  return v ? v->energy : NULL;
}

ebm_status ebm_train_generator_presets(const ebm_dataset *ds, const ebm_train_config *cfg, char *energy,
                                       size_t energy_size, char *generator, size_t generator_size) {
  const int item_ndim = ds->x->ndim - 1;
  const int64_t *s = ds->x->shape + 1;
  const int latent = cfg->generator.latent_dim;
  if (item_ndim == 1 && s[0] == 2) {
    if (energy) snprintf(energy, energy_size, "{\"preset\": \"mlp\", \"in_dim\": 2}");
    if (generator)
      snprintf(generator, generator_size, "{\"preset\": \"mlp-generator\", \"in_dim\": %d}", latent > 0 ? latent : 2);
    return EBM_OK;
  }
  if (train_data_is_cloud(ds)) {
    if (!(cfg->range_lo == -1 && cfg->range_hi == 1))
      return ebm_set_error(EBM_ERR_ARG, "%s: the point-cloud presets model coordinates in [-1, 1], not [%g, %g]",
                           ds->spec, (double)cfg->range_lo, (double)cfg->range_hi);
    if (energy) snprintf(energy, energy_size, "{\"preset\": \"pointnet\", \"in_dim\": %lld}", (long long)s[1]);
    if (generator)
      snprintf(generator, generator_size, "{\"preset\": \"point-generator\", \"in_dim\": %d, \"shape\": [1, %lld, 3]}",
               latent > 0 ? latent : 64, (long long)s[1]);
    return EBM_OK;
  }
  const volume_preset *v = volume_of(ds);
  if (v) {
    if (!(cfg->range_lo == 0 && cfg->range_hi == 1))
      return ebm_set_error(EBM_ERR_ARG, "%s: the %s presets model %s in [0, 1], not [%g, %g]", ds->spec, v->what,
                           v->values, (double)cfg->range_lo, (double)cfg->range_hi);
    if (energy) snprintf(energy, energy_size, "{\"preset\": \"%s\"}", v->energy);
    if (generator)
      snprintf(generator, generator_size, "{\"preset\": \"%s\", \"in_dim\": %d}", v->generator, latent > 0 ? latent : 64);
    return EBM_OK;
  }
  if (item_ndim == 3 && !ds->depth) {
    char shape_range[128];
    snprintf(shape_range, sizeof shape_range, "\"shape\": [%lld, %lld, %lld], \"range\": [%.9g, %.9g]", (long long)s[0],
             (long long)s[1], (long long)s[2], (double)cfg->range_lo, (double)cfg->range_hi);
    if (energy) snprintf(energy, energy_size, "{\"preset\": \"uva-cnn\", %s}", shape_range);
    if (generator)
      snprintf(generator, generator_size, "{\"preset\": \"conv-generator\", \"in_dim\": %d, %s}",
               latent > 0 ? latent : 64, shape_range);
    return EBM_OK;
  }
  char shape[64];
  ebm_shape_str(item_ndim, s, shape, sizeof shape);
  return ebm_set_error(EBM_ERR_ARG, "%s: no preset generator for items of shape %s%s (presets: 2-D points, C×H×W "
                       "images, 1×P×3 point clouds, 1×32³ voxel grids, 1×16×64×64 videos); give --generator", ds->spec, shape, ds->depth ? " (a volume)" : "");
}

/* The generator of --generator, or the data's preset. */
ebm_status train_generator_init(const ebm_trainer *t, train_generator *gen) {
  const ebm_generator_config *g = &t->cfg.generator;
  char preset[EBM_TRAIN_TEXT_SIZE];
  const char *arch = g->arch;
  const int item_ndim = t->ds->x->ndim - 1; /* the energy network's input, checked */
  const int64_t *item_shape = t->ds->x->shape + 1;
  if (!arch[0]) {
    ebm_status st = ebm_train_generator_presets(t->ds, &t->cfg, NULL, 0, preset, sizeof preset);
    if (st != EBM_OK) return st;
    arch = preset;
  }
  ebm_rng rng = train_method_rng(&t->cfg, TRAIN_GENERATOR_INIT_STREAM);
  ebm_status st = train_build_net(arch, t->cfg.batch, &rng, "--generator", &gen->net);
  if (st != EBM_OK) return st;
  const int ndim = ebm_net_item_ndim(gen->net);
  gen->latent = ebm_net_item_shape(gen->net)[0];
  if (g->latent_dim > 0 && (ndim != 1 || gen->latent != g->latent_dim))
    return ebm_set_error(EBM_ERR_ARG, "--latent-dim %d disagrees with the generator's input shape [%lld%s]",
                         g->latent_dim, (long long)gen->latent, ndim == 1 ? "" : ", ...");
  if (t->energy) { /* the latent posterior refuses shapes that disagree, naming both */
    ebm_energy *posterior = NULL;
    if ((st = ebm_latent_energy_new(gen->net, t->energy, &posterior)) != EBM_OK) return st;
    ebm_energy_free(posterior);
  } else if (ebm_net_out_ndim(gen->net) != item_ndim ||
             memcmp(ebm_net_out_shape(gen->net), item_shape, (size_t)item_ndim * sizeof *item_shape) != 0) {
    char g_shape[64], x_shape[64];
    ebm_shape_str(ebm_net_out_ndim(gen->net), ebm_net_out_shape(gen->net), g_shape, sizeof g_shape);
    ebm_shape_str(item_ndim, item_shape, x_shape, sizeof x_shape);
    return ebm_set_error(EBM_ERR_ARG, "the generator's output shape %s differs from %s's item shape %s", g_shape,
                         t->ds->spec, x_shape);
  }
  ebm_adam_config acfg = t->cfg.adam;
  if (g->lr > 0) acfg.lr = g->lr;
  return ebm_adam_new(gen->net, &acfg, &gen->adam);
}

void train_generator_free(train_generator *g) {
  ebm_adam_free(g->adam);
  ebm_net_free(g->net);
  g->adam = NULL;
  g->net = NULL;
}

float train_generator_lr(const ebm_trainer *t) {
  const ebm_train_config *c = &t->cfg;
  const float lr = ebm_train_lr(c, t->step);
  return c->generator.lr > 0 ? lr * (c->generator.lr / c->adam.lr) : lr;
}

ebm_status train_generator_save(const train_generator *g, ebm_st_writer *w) {
  ebm_status st = train_save_net(w, g->net, "generator");
  return st != EBM_OK ? st : ebm_adam_save_as(g->adam, w, "generator_adam");
}

ebm_status train_generator_restore(train_generator *g, const ebm_safetensors *st_file) {
  ebm_status st = train_check_net(st_file, g->net, "generator");
  if (st == EBM_OK) st = ebm_adam_restore_as(g->adam, st_file, "generator_adam");
  if (st == EBM_OK) st = train_read_net(st_file, g->net, "generator");
  return st;
}

int train_generator_parts(const train_generator *g, const ebm_net **nets, const char **names, int max) {
  if (max < 1) return 0;
  nets[0] = g->net;
  names[0] = "generator";
  return 1;
}

double train_generator_regression_loss(const float *x_gen, const float *target, int64_t n, int64_t dim,
                                       double scale, float *dx) {
  double sum = 0;
  for (int64_t k = 0; k < n * dim; k++) {
    const double d = (double)x_gen[k] - target[k];
    sum += 0.5 * d * d;
    if (dx) dx[k] = (float)(scale * d / (double)n);
  }
  return scale * sum / (double)n;
}

ebm_status train_generator_regression_backward(ebm_net *generator, const float *x_gen, const float *target,
                                               int64_t n, double scale, float *dx, int64_t step, double *loss) {
  *loss = train_generator_regression_loss(x_gen, target, n, ebm_net_out_size(generator), scale, dx);
  ebm_status st = train_check_finite(*loss, 0, step, "the generator's loss");
  if (st != EBM_OK) return st;
  ebm_net_zero_grad(generator);
  return ebm_net_backward(generator, dx, NULL, 1);
}

ebm_status train_generator_pair_update(ebm_trainer *t, ebm_adam *energy_adam, train_generator *g, int64_t step,
                                       double loss, double e_pos, double e_neg, ebm_train_stats *stats) {
  double gnorm = 0, gen_norm = 0;
  ebm_status st;
  if ((st = train_adam_step(energy_adam, ebm_train_lr(&t->cfg, t->step), step, "grad_norm", &gnorm)) != EBM_OK ||
      (st = train_adam_step(g->adam, train_generator_lr(t), step, "the generator's grad_norm", &gen_norm)) != EBM_OK)
    return st;
  stats->loss = loss;
  stats->e_pos = e_pos;
  stats->e_neg = e_neg;
  stats->grad_norm = gnorm;
  train_mcmc_stats(t, stats);
  return EBM_OK;
}
