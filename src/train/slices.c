/* The fixed batch slices of data-parallel training (slices.h): their
 * streams and replay stores, the per-slice partial sums and their ordered
 * reduction across ranks, and their part of the training state. */
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train_internal.h"

#define SLICE_FORMAT "ebm-train-slice-1"
#define STATS_FLOATS 4 /* an ebm_sample_stats is 4 floats, gathered as such */
_Static_assert(sizeof(ebm_sample_stats) == STATS_FLOATS * sizeof(float), "ebm_sample_stats is 4 floats");

static int64_t grad_count(ebm_net *net) {
  int64_t n = 0;
  for (int i = 0; i < ebm_net_param_count(net); i++) n += ebm_tensor_numel(ebm_net_param(net, i)->grad);
  return n;
}

static int64_t mcmc_floats(const ebm_trainer *t) {
  return (int64_t)t->cfg.sampler.steps * STATS_FLOATS;
}

ebm_status train_slices_init(ebm_trainer *t, ebm_dist *dist) {
  train_slices *sl = &t->sl;
  const ebm_train_config *c = &t->cfg;
  const int ranks = ebm_dist_size(dist);
  sl->count = c->slices > 1 ? c->slices : 1;
  sl->size = c->batch / sl->count;
  sl->dist = dist;
  if (ranks > sl->count)
    return ebm_set_error(EBM_ERR_ARG, "%d ranks share a batch of %lld slices: give slices >= %d (--slices; a "
                         "multiple of the ranks keeps them equally busy)", ranks, (long long)sl->count, ranks);
  ebm_dist_slice_range(sl->count, ebm_dist_rank(dist), ranks, &sl->first, &sl->end);
  if (sl->count == 1) return EBM_OK;
  const int classes = c->conditional ? ebm_net_num_classes(t->net) : 0;
  sl->n_grad = grad_count(t->net);
  sl->rng = calloc((size_t)sl->count, sizeof *sl->rng);
  sl->replay = calloc((size_t)sl->count, sizeof *sl->replay);
  sl->grads = ebm_alloc((size_t)(sl->count * sl->n_grad), sizeof(float));
  sl->mcmc = ebm_alloc((size_t)(sl->count * (mcmc_floats(t) > 0 ? mcmc_floats(t) : 1)), sizeof(float));
  if (c->kl_weight > 0 || c->entropy_weight > 0) sl->icd = calloc((size_t)(sl->count * 2), sizeof *sl->icd);
  if (!sl->rng || !sl->replay || !sl->grads || !sl->mcmc || ((c->kl_weight > 0 || c->entropy_weight > 0) && !sl->icd))
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld batch slices", (long long)sl->count);
  for (int64_t s = 0; s < sl->count; s++) sl->rng[s] = ebm_rng_split(&t->rng, (uint64_t)s);
  for (int64_t s = sl->first; s < sl->end && (t->method->needs & TRAIN_NEEDS_REPLAY); s++) {
    ebm_status st = ebm_replay_new(c->buffer_size / sl->count, ebm_net_item_ndim(t->net), ebm_net_item_shape(t->net),
                                   classes, c->range_lo, c->range_hi, &sl->replay[s]);
    if (st == EBM_OK) st = ebm_replay_set_policy(sl->replay[s], c->buffer_policy);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

void train_slices_free(train_slices *sl) {
  for (int64_t s = 0; sl->replay && s < sl->count; s++) ebm_replay_free(sl->replay[s]);
  free(sl->replay);
  free(sl->rng);
  ebm_free(sl->grads);
  ebm_free(sl->mcmc);
  free(sl->icd);
  memset(sl, 0, sizeof *sl);
}

ebm_rng *train_slice_rng(ebm_trainer *t, int64_t s) { return t->sl.count > 1 ? &t->sl.rng[s] : &t->rng; }

ebm_replay *train_slice_replay(ebm_trainer *t, int64_t s) {
  return t->sl.count > 1 ? t->sl.replay[s] : t->replay;
}

void train_slices_keep_mcmc(ebm_trainer *t, int64_t s) {
  const int64_t n = mcmc_floats(t);
  if (t->sl.count > 1 && n > 0) memcpy(t->sl.mcmc + s * n, t->mcmc, (size_t)n * sizeof(float));
}

void train_slices_keep_grads(ebm_trainer *t, int64_t s) {
  if (t->sl.count == 1) return;
  float *dst = t->sl.grads + s * t->sl.n_grad;
  for (int i = 0; i < ebm_net_param_count(t->net); i++) {
    const ebm_tensor *g = ebm_net_param(t->net, i)->grad;
    memcpy(dst, g->data, (size_t)ebm_tensor_numel(g) * sizeof(float));
    dst += ebm_tensor_numel(g);
  }
}

void train_slices_keep_icd(ebm_trainer *t, int64_t s, double kl, double entropy) {
  if (!t->sl.icd) return;
  t->sl.icd[2 * s] = kl;
  t->sl.icd[2 * s + 1] = entropy;
}

ebm_status train_slices_sum_icd(ebm_trainer *t, double *kl, double *entropy) {
  train_slices *sl = &t->sl;
  if (!sl->icd) return EBM_OK;
  ebm_status st = ebm_dist_gather_slices(sl->dist, sl->icd, sl->count, 2 * sizeof *sl->icd);
  if (st != EBM_OK) return st;
  *kl = *entropy = 0.0;
  for (int64_t s = 0; s < sl->count; s++) {
    *kl += sl->icd[2 * s];
    *entropy += sl->icd[2 * s + 1];
  }
  return EBM_OK;
}

ebm_status train_slices_gather_energies(ebm_trainer *t) {
  train_slices *sl = &t->sl;
  if (sl->count == 1) return EBM_OK;
  const size_t bytes = (size_t)sl->size * sizeof(float);
  const int64_t n = mcmc_floats(t);
  ebm_status st = ebm_dist_gather_slices(sl->dist, t->e_pos, sl->count, bytes);
  if (st == EBM_OK) st = ebm_dist_gather_slices(sl->dist, t->e_neg, sl->count, bytes);
  if (st != EBM_OK || n == 0) return st;
  if ((st = ebm_dist_gather_slices(sl->dist, sl->mcmc, sl->count, (size_t)n * sizeof(float))) != EBM_OK) return st;
  /* equal slices: the mean of the slices' means is the mean over all chains */
  ebm_dist_sum_slices(sl->mcmc, sl->count, n, sl->mcmc);
  float *out = (float *)t->mcmc;
  for (int64_t k = 0; k < n; k++) out[k] = sl->mcmc[k] / (float)sl->count;
  return EBM_OK;
}

ebm_status train_slices_reduce_grads(ebm_trainer *t) {
  train_slices *sl = &t->sl;
  if (sl->count == 1) return EBM_OK;
  ebm_status st = ebm_dist_gather_slices(sl->dist, sl->grads, sl->count, (size_t)sl->n_grad * sizeof(float));
  if (st != EBM_OK) return st;
  ebm_dist_sum_slices(sl->grads, sl->count, sl->n_grad, sl->grads);
  const float *src = sl->grads;
  for (int i = 0; i < ebm_net_param_count(t->net); i++) {
    ebm_tensor *g = ebm_net_param(t->net, i)->grad;
    memcpy(g->data, src, (size_t)ebm_tensor_numel(g) * sizeof(float));
    src += ebm_tensor_numel(g);
  }
  return EBM_OK;
}

/* ------------------------------------------------------------ state files */

#define EXT ".safetensors"

/* The state path without its ".safetensors": what slice files start with. */
static void state_stem(const char *state_path, char *buf, size_t size) {
  size_t len = strlen(state_path);
  if (len >= strlen(EXT) && strcmp(state_path + len - strlen(EXT), EXT) == 0) len -= strlen(EXT);
  snprintf(buf, size, "%.*s", (int)len, state_path);
}

/* "<stem>.slice-S.step-N.safetensors". */
static void slice_path(const char *state_path, int64_t s, int64_t step, char *buf, size_t size) {
  char stem[4100];
  state_stem(state_path, stem, sizeof stem);
  snprintf(buf, size, "%s.slice-%lld.step-%lld" EXT, stem, (long long)s, (long long)step);
}

static ebm_status save_slice(ebm_trainer *t, int64_t s, const char *path) {
  ebm_st_writer *w = ebm_st_writer_new();
  if (!w) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  const ebm_rng *rng = &t->sl.rng[s];
  ebm_status st = t->sl.replay[s] ? ebm_replay_save(t->sl.replay[s], w) : EBM_OK;
  if (st == EBM_OK && (st = ebm_st_writer_meta(w, "format", SLICE_FORMAT)) == EBM_OK &&
      (st = train_put_meta_u64(w, "slice", (uint64_t)s)) == EBM_OK && (st = train_put_meta_u64(w, "slices", (uint64_t)t->sl.count)) == EBM_OK &&
      (st = train_put_meta_u64(w, "step", (uint64_t)t->step)) == EBM_OK && (st = train_put_meta_u64(w, "rng_seed", rng->seed)) == EBM_OK &&
      (st = train_put_meta_u64(w, "rng_counter", rng->counter)) == EBM_OK)
    st = ebm_st_writer_save(w, path);
  ebm_st_writer_free(w);
  return st;
}

/* Calls fn with the file of each of this rank's slices at the trainer's
 * step (more than one slice only). */
static ebm_status each_slice_file(ebm_trainer *t, const char *state_path,
                                  ebm_status (*fn)(ebm_trainer *t, int64_t s, const char *path)) {
  char path[4200];
  for (int64_t s = t->sl.first; t->sl.count > 1 && s < t->sl.end; s++) {
    slice_path(state_path, s, t->step, path, sizeof path);
    ebm_status st = fn(t, s, path);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

ebm_status train_slices_save(const ebm_trainer *t, const char *state_path) {
  return each_slice_file((ebm_trainer *)t, state_path, save_slice); /* save_slice only reads */
}

static ebm_status restore_slice(ebm_trainer *t, int64_t s, const char *path) {
  ebm_safetensors *f = NULL;
  uint64_t slice, slices, step, seed, counter;
  ebm_status st = ebm_safetensors_load(path, &f);
  if (st != EBM_OK) return st;
  const char *format = ebm_safetensors_meta(f, "format");
  if (!format || strcmp(format, SLICE_FORMAT) != 0) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: not a training slice file (format %s)", path, format ? format : "missing");
    goto done;
  }
  if ((st = train_meta_u64(f, "slice", &slice)) != EBM_OK || (st = train_meta_u64(f, "slices", &slices)) != EBM_OK ||
      (st = train_meta_u64(f, "step", &step)) != EBM_OK || (st = train_meta_u64(f, "rng_seed", &seed)) != EBM_OK ||
      (st = train_meta_u64(f, "rng_counter", &counter)) != EBM_OK)
    goto done;
  if (slice != (uint64_t)s || slices != (uint64_t)t->sl.count || step != (uint64_t)t->step) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: holds slice %" PRIu64 " of %" PRIu64 " at step %" PRIu64
                       ", expected slice %lld of %lld at step %lld", path, slice, slices, step, (long long)s,
                       (long long)t->sl.count, (long long)t->step);
    goto done;
  }
  if (t->sl.replay[s] && (st = ebm_replay_restore(t->sl.replay[s], f)) != EBM_OK) goto done;
  t->sl.rng[s].seed = seed;
  t->sl.rng[s].counter = counter;
done:
  if (st != EBM_OK && !strstr(ebm_last_error(), path)) ebm_error_prefix(st, path);
  ebm_safetensors_free(f);
  return st;
}

ebm_status train_slices_restore(ebm_trainer *t, const char *state_path) {
  return each_slice_file(t, state_path, restore_slice);
}

void train_slices_prune(const ebm_trainer *t, const char *state_path) {
  char stem[4100], prefix[4200], step_tag[48], path[8400];
  if (t->sl.count == 1) return;
  state_stem(state_path, stem, sizeof stem);
  char *slash = strrchr(stem, '/');
  snprintf(prefix, sizeof prefix, "%s.slice-", slash ? slash + 1 : stem);
  if (slash) *slash = '\0';
  const char *dir = slash ? stem : ".";
  snprintf(step_tag, sizeof step_tag, ".step-%lld" EXT, (long long)t->step);
  DIR *d = opendir(dir);
  if (!d) return; /* files of old steps only cost space */
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || strstr(e->d_name, step_tag)) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    (void)unlink(path);
  }
  closedir(d);
}
