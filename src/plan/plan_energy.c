/* E_plan, the energy of a whole trajectory built on a transition network
 * (ebm/plan.h): Σ_t E(s_t, s_{t+1}) + w·‖s_T − goal‖², s_0 = start. */
#include <stdlib.h>
#include <string.h>

#include "ebm/plan.h"

typedef struct {
  ebm_net *net;            /* borrowed */
  int horizon;
  int64_t chunk;           /* plans per network pass: max_batch / horizon */
  float goal_weight;
  int64_t ntasks;
  float *start, *goal;     /* [ntasks · 2] */
  float *tr, *e_tr, *g_tr; /* one pass: transitions, their energies and gradients */
} plan_energy;

static void plan_energy_destroy(void *self) {
  plan_energy *p = self;
  free(p->start);
  free(p->goal);
  ebm_free(p->tr);
  ebm_free(p->e_tr);
  ebm_free(p->g_tr);
  free(p);
}

/* Rows (s_t, s_{t+1}), t = 0..T−1, of one plan x = s_1..s_T. */
static void plan_transitions(const float *start, const float *x, int horizon, float *tr) {
  for (int t = 0; t < horizon; t++) {
    const float *from = t == 0 ? start : x + 2 * (t - 1);
    float *row = tr + 4 * t;
    row[0] = from[0], row[1] = from[1], row[2] = x[2 * t], row[3] = x[2 * t + 1];
  }
}

// x is (n, T·2); e is (n); grad is (n, T·2) or NULL
static ebm_status plan_energy_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                   float *grad) {
  plan_energy *p = self;
  const int T = p->horizon;
  if (!cond || !cond->labels)
    return ebm_set_error(EBM_ERR_ARG, "plan: each chain needs its task (0..%lld) as its label", (long long)p->ntasks - 1);
  for (int64_t i = 0; i < n; i++)
    if (cond->labels[i] < 0 || cond->labels[i] >= p->ntasks)
      return ebm_set_error(EBM_ERR_ARG, "plan: chain %lld asks for task %d of %lld", (long long)i, cond->labels[i],
                           (long long)p->ntasks);
  for (int64_t i0 = 0; i0 < n; i0 += p->chunk) {
    const int64_t m = n - i0 < p->chunk ? n - i0 : p->chunk;
    for (int64_t i = 0; i < m; i++)
      plan_transitions(p->start + 2 * cond->labels[i0 + i], x + (i0 + i) * 2 * T, T, p->tr + i * 4 * T);
    ebm_status st = grad ? ebm_net_grad_input(p->net, p->tr, NULL, m * T, p->e_tr, p->g_tr)
                         : ebm_net_energy(p->net, p->tr, NULL, m * T, p->e_tr);
    if (st) return st;
    for (int64_t i = 0; i < m; i++) {
      const float *xi = x + (i0 + i) * 2 * T, *goal = p->goal + 2 * cond->labels[i0 + i];
      const float dx = xi[2 * (T - 1)] - goal[0], dy = xi[2 * (T - 1) + 1] - goal[1];
      double sum = (double)p->goal_weight * ((double)dx * dx + (double)dy * dy);
      for (int t = 0; t < T; t++) sum += p->e_tr[i * T + t];
      e[i0 + i] = (float)sum;
      if (!grad) continue;
      /* s_t (t ≥ 1) is the second half of transition t−1 and the first
       * half of transition t. */
      float *gi = grad + (i0 + i) * 2 * T;
      const float *g = p->g_tr + i * 4 * T;
      for (int t = 0; t < T; t++) {
        gi[2 * t] = g[4 * t + 2] + (t + 1 < T ? g[4 * (t + 1)] : 0.0f);
        gi[2 * t + 1] = g[4 * t + 3] + (t + 1 < T ? g[4 * (t + 1) + 1] : 0.0f);
      }
      gi[2 * (T - 1)] += 2 * p->goal_weight * dx;
      gi[2 * (T - 1) + 1] += 2 * p->goal_weight * dy;
    }
  }
  return EBM_OK;
}

ebm_status ebm_plan_energy_new(ebm_net *transition, const ebm_particle_world *w, int horizon,
                               float goal_weight, const float *start, const float *goal,
                               int64_t ntasks, ebm_energy **out) {
  *out = NULL;
  const int64_t *shape = ebm_net_item_shape(transition);
  if (ebm_net_item_ndim(transition) != 1 || shape[0] != 4 || ebm_net_out_size(transition) != 1 ||
      ebm_net_num_classes(transition) != 0)
    return ebm_set_error(EBM_ERR_ARG, "planning needs an unconditional energy on transitions "
                                      "(x, y, x', y'): 4 values in, 1 out");
  if (horizon < 1) return ebm_set_error(EBM_ERR_ARG, "the horizon must be at least 1 step, got %d", horizon);
  if (ebm_net_max_batch(transition) < horizon)
    return ebm_set_error(EBM_ERR_ARG, "the transition network takes batches of %lld, a plan needs %d",
                         (long long)ebm_net_max_batch(transition), horizon);
  if (ntasks < 1 || ntasks > INT32_MAX)
    return ebm_set_error(EBM_ERR_ARG, "planning needs 1..%d tasks, got %lld", INT32_MAX, (long long)ntasks);
  plan_energy *p = calloc(1, sizeof *p);
  ebm_energy *en = ebm_energy_alloc();
  if (!p || !en) goto nomem;
  p->net = transition;
  p->horizon = horizon;
  p->chunk = ebm_net_max_batch(transition) / horizon;
  p->goal_weight = goal_weight;
  p->ntasks = ntasks;
  p->start = malloc((size_t)ntasks * 2 * sizeof(float));
  p->goal = malloc((size_t)ntasks * 2 * sizeof(float));
  p->tr = ebm_alloc((size_t)(p->chunk * horizon * 4), sizeof(float));
  p->e_tr = ebm_alloc((size_t)(p->chunk * horizon), sizeof(float));
  p->g_tr = ebm_alloc((size_t)(p->chunk * horizon * 4), sizeof(float));
  if (!p->start || !p->goal || !p->tr || !p->e_tr || !p->g_tr) goto nomem;
  memcpy(p->start, start, (size_t)ntasks * 2 * sizeof(float));
  memcpy(p->goal, goal, (size_t)ntasks * 2 * sizeof(float));
  en->name = "plan";
  en->item_ndim = 1;
  en->item_shape[0] = 2 * (int64_t)horizon;
  en->max_batch = 0;
  en->num_classes = (int)ntasks;
  en->range_lo = w->lo;
  en->range_hi = w->hi;
  en->eval = plan_energy_eval;
  en->destroy = plan_energy_destroy;
  en->self = p;
  *out = en;
  return EBM_OK;
nomem:
  if (p) plan_energy_destroy(p);
  free(en);
  return ebm_set_error(EBM_ERR_NOMEM, "out of memory for plans of %d steps", horizon);
}
