/* Recipes of the architecture presets whose items are not images (issue
 * 15): what `ebm train --arch NAME` uses when no --preset and no recipe
 * flag says otherwise (ebm_train_recipe_for_arch). Each was chosen by
 * short probes against the alternatives; README "Point clouds and
 * planning" has the numbers and commands. */
#include <string.h>

#include <cjson/cJSON.h>

#include "ebm/train.h"

/* pointnet: the generative PointNet's short-run chains from uniform noise
 * (Xie et al. 2021), 30 Langevin steps of IGEBM's form (λ 10, σ 0.005,
 * clip 0.01) on [-1, 1], Adam lr 1e-3: the best nearest-cloud Chamfer of
 * the 150-step probes (W 32). λ 100 gives the same samples (the energy
 * rescales itself: λ·‖∇E‖ stayed ≈ 0.3 per step); chains from a fitted
 * Gaussian and PCD were no closer. No energy regulariser (α = 0), as in the
 * short-run papers (Nijkamp et al. 2019, Xie et al. 2021): with α = 1 a
 * model of one class of shapes soon set e+ = −1/(2α), e− = +1/(2α), where
 * α's gradient cancels the contrastive one, and learning stopped while the
 * samples were still slabs; with α = 0 it went on to rings (README). */
static void pointnet_recipe(ebm_train_config *cfg) {
  if (cfg->method == EBM_TRAIN_PCD) cfg->method = EBM_TRAIN_SHORT_RUN; /* the default; a given --method wins */
  cfg->sampler = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg->sampler.steps = 30;
  cfg->sampler.clamp = 1;
  cfg->range_lo = -1.0f;
  cfg->range_hi = 1.0f;
  cfg->adam.lr = 1e-3f;
  cfg->alpha = 0.0f;
}

/* voxelnet: short-run chains from a mixture of 30 Gaussians in the
 * training grids' top-64 principal subspace (--init mixture:30), 15
 * Langevin steps of λ 100 (σ 0.005, clip 0.01) on [0, 1], α 0, Adam 1e-3,
 * batch 16. One Gaussian fitted to all the grids draws a blurred cloud
 * that is no shape; a component of the mixture draws a blurred sphere, box
 * or torus near one place, which the energy learns to clean (issue 15,
 * README "Textures, videos and voxels": on 900 shapes3d grids, 1000
 * samples classified 0.388 / 0.300 / 0.312 sphere / box / torus, surface
 * Chamfer 0.0168, against the latent-EBM mixture's 0.0286). λ 10 does not
 * move chains of 32 768 voxels (the gradient per voxel is ~1e-4). With
 * --conditional the mixture is fitted per class (trainer.c): 30 components
 * per class drew the class asked for 0.927 / 0.813 / 0.960 of the time. */
static void voxelnet_recipe(ebm_train_config *cfg) {
  if (cfg->method == EBM_TRAIN_PCD) cfg->method = EBM_TRAIN_SHORT_RUN; /* the default; a given --method wins */
  cfg->sampler = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg->sampler.steps = 15;
  cfg->sampler.step_size = 100.0f;
  cfg->sampler.clamp = 1;
  if (cfg->method == EBM_TRAIN_SHORT_RUN) { /* a method given without fresh chains (cd, coop) keeps its own */
    cfg->chain_start = EBM_START_MIXTURE;
    cfg->start_components = 30;
  }
  cfg->batch = 16;
  cfg->range_lo = 0.0f;
  cfg->range_hi = 1.0f;
  cfg->adam.lr = 1e-3f;
  cfg->alpha = 0.0f;
}

/* video-st: the voxelnet recipe's kind of start for moving Fashion-MNIST
 * (1×16×64×64 in [0, 1]): short-run chains from a mixture of 30 Gaussians
 * in the training videos' top-64 principal subspace — a blurred item moving
 * along one kind of path — and 10 Langevin steps of λ 100 (σ 0.005, clip
 * 0.01; λ 10 does not move chains of 65 536 values), α 0, Adam 1e-3, batch
 * 8 (one iteration ≈ 1.1 s on one core; README "Textures, videos and
 * voxels", issue 15 continued, has the run and its measurements). */
static void video_st_recipe(ebm_train_config *cfg) {
  voxelnet_recipe(cfg);
  cfg->sampler.steps = 10;
  cfg->batch = 8;
}

static const struct {
  const char *preset;
  void (*apply)(ebm_train_config *cfg);
} preset_recipes[] = {
    {"pointnet", pointnet_recipe},
    {"dgcnn", pointnet_recipe},
    {"voxelnet", voxelnet_recipe},
    {"video-st", video_st_recipe},
};

/* The preset an --arch names: the name itself, or the "preset" of a JSON
 * description ({"preset": "pointnet", "in_dim": 256} is still a pointnet,
 * and its clouds want the pointnet recipe). Copied into buf; NULL if none. */
static const char *preset_name(const char *arch, char *buf, size_t size) {
  if (!arch) return NULL;
  if (arch[0] != '{') return arch;
  cJSON *tree = cJSON_Parse(arch);
  const cJSON *preset = cJSON_GetObjectItemCaseSensitive(tree, "preset");
  const char *name = NULL;
  if (cJSON_IsString(preset) && strlen(preset->valuestring) < size) {
    memcpy(buf, preset->valuestring, strlen(preset->valuestring) + 1);
    name = buf;
  }
  cJSON_Delete(tree);
  return name;
}

const char *train_preset_recipe(const char *arch, ebm_train_config *cfg) {
  char buf[64];
  const char *name = preset_name(arch, buf, sizeof buf);
  for (size_t i = 0; name && i < sizeof preset_recipes / sizeof *preset_recipes; i++)
    if (strcmp(name, preset_recipes[i].preset) == 0) {
      preset_recipes[i].apply(cfg);
      return preset_recipes[i].preset;
    }
  return NULL;
}
