/* LANGEVIN chains group by group (ebm_chain_schedule, ebm/sample.h).
 *
 * Why: step by step, a run of K steps on a network energy is K × (a noise
 * fill, the two halves of the update and a forward and backward pass made of
 * one parallel job per conv or run of convs) — hundreds of hand-offs to the
 * thread pool per run, each over in ~100 µs. With another busy process on
 * the machine, the OS preempts one of our threads now and then; a
 * preempted thread that holds a chunk makes the others wait for it a whole
 * time slice (1–5 ms), and those waits ate what the second thread saved
 * (README, "Busy machine"). Here one parallel job takes the whole run:
 * its chunks are groups of EBM_ENERGY_FORK_ITEMS chains, each taken
 * through all K steps by one thread (with that thread's fork of the
 * energy, energy.h), and handed out as threads come free. A preempted
 * thread then delays only its own group, and the others finish the rest.
 *
 * The same bits: every item's chain depends on that item alone (the
 * update is per chain, a fork computes each item as the energy does, and
 * the noise of item i at step k is elements [i·D, (i + 1)·D) of step k's
 * fill, which ebm_rng_normal_part computes on its own). The group size is
 * a constant, so which thread runs which group never matters. The means
 * the stats report are summed afterwards in chain order, as
 * sampler_summarise does after each step.
 *
 * A step that meets a non-finite value (an energy error or a non-finite
 * mean) sends the run back to its start and to the step-by-step loop,
 * which stops at the same step with the same message. */
#include <stdatomic.h>
#include <stdlib.h>

#include "sample/sampler_internal.h"

void ebm_sampler_set_schedule(ebm_sampler *s, ebm_chain_schedule schedule) {
  if (s && (unsigned)schedule <= EBM_CHAINS_GROUPED) s->schedule = schedule;
}

int ebm_sampler_ran_grouped(const ebm_sampler *s) { return s->ran_grouped; }

void sampler_groups_free(ebm_sampler *s) {
  for (int t = 0; t < s->nforks; t++) ebm_energy_free(s->forks[t]);
  free(s->forks);
  ebm_free(s->x_start);
  ebm_free(s->steps_e);
  ebm_free(s->steps_gnorm);
}

/* Forks for threads [0, threads) and the run's buffers; 0 when the energy
 * offers no fork or one cannot be made (the run then goes step by step). */
static int groups_ready(ebm_sampler *s, int threads) {
  const int isa = (int)ebm_isa_active();
  if (s->nforks > 0 && s->forks_isa != isa) { /* the kernels changed: so may what a fork can promise */
    for (int t = 0; t < s->nforks; t++) ebm_energy_free(s->forks[t]);
    s->nforks = 0;
    s->no_forks = 0;
  }
  s->forks_isa = isa;
  if (s->no_forks || !s->en->fork) return 0;
  if (!s->x_start) {
    const size_t per_step = (size_t)s->max_n * (size_t)s->cfg.steps;
    s->x_start = ebm_alloc((size_t)(s->max_n * s->dim), sizeof(float));
    s->steps_e = ebm_alloc(per_step, sizeof(float));
    s->steps_gnorm = ebm_alloc(per_step, sizeof(double));
    if (!s->x_start || !s->steps_e || !s->steps_gnorm) goto none;
  }
  if (s->nforks < threads) {
    ebm_energy **f = realloc(s->forks, (size_t)threads * sizeof *f);
    if (!f) goto none;
    s->forks = f;
    for (; s->nforks < threads; s->nforks++)
      if (s->en->fork(s->en->self, EBM_ENERGY_FORK_ITEMS, &s->forks[s->nforks]) != EBM_OK) goto none;
  }
  return 1;
none:
  s->no_forks = 1;
  return 0;
}

typedef struct {
  ebm_sampler *s;
  float *x;
  const ebm_cond *cond;
  int64_t n;
  const ebm_rng *rng;
  uint64_t counter;  /* the generator's counter before the run */
  uint64_t blocks;   /* counter steps per step's fill */
  atomic_int failed; /* a group met an error: the run is redone step by step */
} groups_job;

/* Groups [begin, end), each through every step (the step of
 * sampler_step_langevin on its chains alone). */
static void run_groups(void *ctx, int64_t begin, int64_t end, int tid) {
  groups_job *j = ctx;
  ebm_sampler *s = j->s;
  const ebm_sampler_config *c = &s->cfg;
  const int64_t D = s->dim, n = j->n;
  sampler_job job = {s, j->x, c->step_size, 1.0 / c->temperature};
  const ebm_energy *en = s->forks[tid];
  for (int64_t g = begin; g < end; g++) {
    const int64_t a = g * EBM_ENERGY_FORK_ITEMS;
    const int64_t gn = n - a < EBM_ENERGY_FORK_ITEMS ? n - a : EBM_ENERGY_FORK_ITEMS;
    const ebm_cond part = ebm_cond_slice(j->cond, a);
    for (int k = 0; k < c->steps; k++) {
      if (atomic_load_explicit(&j->failed, memory_order_relaxed)) return;
      ebm_rng_normal_part(j->rng, j->counter + (uint64_t)k * j->blocks, a * D, s->noise + a * D, gn * D,
                          0.0f, c->noise);
      sampler_langevin_add_noise(&job, a, a + gn, tid);
      if (k == c->steps - 1) /* ebm_sampler_last_step */
        memcpy(s->last_x + a * D, j->x + a * D, (size_t)(gn * D) * sizeof(float));
      if (ebm_energy_eval(en, j->x + a * D, j->cond ? &part : NULL, gn, s->e + a, s->grad + a * D) != EBM_OK) {
        atomic_store(&j->failed, 1);
        return;
      }
      sampler_langevin_descend(&job, a, a + gn, tid);
      memcpy(s->steps_e + (int64_t)k * n + a, s->e + a, (size_t)gn * sizeof(float));
      memcpy(s->steps_gnorm + (int64_t)k * n + a, s->gnorm + a, (size_t)gn * sizeof(double));
    }
  }
}

ebm_status sampler_run_grouped(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                               ebm_sample_stats *stats, int *ran) {
  *ran = 0;
  const ebm_sampler_config *c = &s->cfg;
  const int64_t D = s->dim, groups = (n + EBM_ENERGY_FORK_ITEMS - 1) / EBM_ENERGY_FORK_ITEMS;
  const int threads = ebm_threads_count();
  /* AUTO: when there is something to share (a forced GROUPED runs even one group) */
  const int wanted = s->schedule == EBM_CHAINS_GROUPED || (s->schedule == EBM_CHAINS_AUTO && threads > 1 && groups > 1);
  s->ran_grouped = 0;
  /* a part of a fill starts on a whole counter step: D % 4 == 0 */
  if (!wanted || c->kind != EBM_SAMPLER_LANGEVIN || c->steps < 1 || D % 4 != 0 || !groups_ready(s, threads))
    return EBM_OK;
  memcpy(s->x_start, x, (size_t)(n * D) * sizeof *x);
  groups_job j = {s, x, cond, n, rng, rng->counter, (uint64_t)((n * D + 3) / 4), 0};
  /* the parameters stay as they are for the whole run: a fork packs its
   * weights once, not once per group and step */
  for (int t = 0; t < threads; t++)
    if (s->forks[t]->hold) s->forks[t]->hold(s->forks[t]->self, 1);
  ebm_parallel_for(groups, 1, run_groups, &j);
  for (int t = 0; t < threads; t++)
    if (s->forks[t]->hold) s->forks[t]->hold(s->forks[t]->self, 0);
  int finite = !atomic_load(&j.failed);
  for (int k = 0; finite && k < c->steps; k++) {
    sampler_step_result r;
    memcpy(s->gnorm, s->steps_gnorm + (int64_t)k * n, (size_t)n * sizeof(double));
    sampler_summarise(s, s->steps_e + (int64_t)k * n, n, 0, &r);
    finite = isfinite(r.mean_energy);
    if (finite && stats) stats[k] = (ebm_sample_stats){(float)r.mean_energy, (float)r.grad_norm, (float)r.accept_rate, s->eps};
  }
  if (!finite) { /* the step-by-step loop finds the step and says why */
    memcpy(x, s->x_start, (size_t)(n * D) * sizeof *x);
    return EBM_OK;
  }
  rng->counter = j.counter + (uint64_t)c->steps * j.blocks;
  s->ran_grouped = 1;
  *ran = 1;
  return EBM_OK;
}
