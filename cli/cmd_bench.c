/* `ebm bench langevin`: the time of one Langevin step on a batch — the unit
 * of work of EBM training (DESIGN §5) — for a preset or a checkpoint.
 * (`bench train` and `bench layers` are in cmd_bench_train.c and
 * cmd_bench_layers.c; the sgemm peak all three compare with is in
 * bench_util.c.)
 *
 * One step is what bench/torch_reference.py times as
 * langevin_step_ms: x ← clamp(x + N(0, σ²)); g = dE/dx (forward + backward
 * to the input); x ← clamp(x − λ·clip(g, ±0.03)). GFLOP/s counts the
 * convolution and linear multiply-adds (2 FLOP each): the forward pass
 * (ebm_net_forward_flops per item) plus the backward pass to the input,
 * which costs the same multiply-adds again (every conv/linear runs once
 * transposed), i.e. 4 · forward multiply-adds · batch per step. Element-wise
 * work (activations, noise, clamps) is timed but not counted. The main
 * figure is the mean (as the reference's); the median and the minimum are
 * shown too, because other processes on a shared machine stretch single
 * steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ops/ops.h"

/* One batch of chains and what a step needs. */
typedef struct {
  int64_t batch, count;
  float lo, hi;
  float *x, *g, *noise, *e;
  int32_t *y; /* random classes of a conditional network, else NULL */
} bench_chains;

static void chains_free(bench_chains *c) {
  ebm_free(c->x);
  ebm_free(c->g);
  ebm_free(c->noise);
  ebm_free(c->e);
  free(c->y);
}

/* Uniform chains over the network's range (±1 without one). */
static ebm_status chains_new(const ebm_net *net, const ebm_energy *en, int64_t batch, ebm_rng *rng, bench_chains *c) {
  const int k = ebm_net_num_classes(net);
  c->batch = batch;
  c->count = batch * ebm_energy_item_size(en);
  c->lo = en->range_lo < en->range_hi ? en->range_lo : -1.0f;
  c->hi = en->range_lo < en->range_hi ? en->range_hi : 1.0f;
  c->x = ebm_alloc((size_t)c->count, sizeof *c->x);
  c->g = ebm_alloc((size_t)c->count, sizeof *c->g);
  c->noise = ebm_alloc((size_t)c->count, sizeof *c->noise);
  c->e = ebm_alloc((size_t)batch, sizeof *c->e);
  c->y = k ? calloc((size_t)batch, sizeof *c->y) : NULL;
  if (!c->x || !c->g || !c->noise || !c->e || (k && !c->y))
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a batch of %lld", (long long)batch);
  ebm_rng_uniform(rng, c->x, c->count, c->lo, c->hi);
  for (int64_t i = 0; c->y && i < batch; i++) c->y[i] = (int32_t)ebm_rng_below(rng, (uint32_t)k);
  return EBM_OK;
}

/* warmup + iters steps; times[0..iters) gets the timed ones in seconds. */
static ebm_status time_steps(ebm_net *net, bench_chains *c, ebm_rng *rng, int warmup, int iters, double *times,
                             double *round_gflops) {
  const ebm_ops *ops = ebm_ops_current();
  const int64_t count = c->count;
  ebm_status st;
  for (int it = 0; it < warmup + iters; it++) {
    double t0 = ebm_now_seconds();
    /* Du & Mordatch A.11 / the reference: noise 0.005, step 10, clip 0.03. */
    ebm_rng_normal(rng, c->noise, count, 0.0f, 0.005f);
    ops->add(count, c->x, c->noise, c->x);
    ops->clamp(count, c->lo, c->hi, c->x);
    if ((st = ebm_net_grad_input(net, c->x, &(ebm_cond){.labels = c->y}, c->batch, c->e, c->g))) return st;
    ops->clamp(count, -0.03f, 0.03f, c->g);
    ops->axpy(count, -10.0f, c->g, c->x);
    ops->clamp(count, c->lo, c->hi, c->x);
    if (it >= warmup) {
      times[it - warmup] = ebm_now_seconds() - t0;
      if (round_gflops) round_gflops[it - warmup] = bench_sgemm_round_gflops();
    }
  }
  return EBM_OK;
}

static void print_result(const char *name, const ebm_net *net, int64_t batch, int iters, int json, double *times,
                         double *round_gflops) {
  const double flop = 4.0 * ebm_net_forward_flops(net) * (double)batch;
  const double paired = round_gflops ? bench_paired_share(times, round_gflops, iters, flop) : 0.0;
  const bench_rate r = bench_rate_of(times, iters, flop);
  const bench_stats bs = r.time;
  char paired_json[32] = "null";
  if (round_gflops) snprintf(paired_json, sizeof paired_json, "%.2f", paired);
  if (json)
    printf("{\"bench\":\"langevin\",\"arch\":\"%s\",\"isa\":\"%s\",\"batch\":%lld,\"threads\":%d,\"iters\":%d,"
           "\"langevin_step_ms\":%.4f,\"median_ms\":%.4f,\"min_ms\":%.4f,\"gflops\":%.3f,"
           "\"sgemm_peak_gflops\":%.3f,\"peak_pct\":%.2f,\"paired_peak_pct\":%s,\"forward_madds_per_item\":%.0f}\n",
           name, ebm_isa_name(ebm_isa_active()), (long long)batch, ebm_threads_count(), iters,
           bs.mean_ms, bs.median_ms, bs.min_ms, r.gflops, r.peak, r.pct, paired_json, ebm_net_forward_flops(net));
  else {
    printf("langevin %s (%s path): batch %lld, %d threads: %.3f ms/step (median %.3f, min %.3f), %.2f GFLOP/s = "
           "%.1f %% of the sgemm peak measured here (%.1f GFLOP/s; forward + backward to the input)\n",
           name, ebm_isa_name(ebm_isa_active()), (long long)batch, ebm_threads_count(), bs.mean_ms,
           bs.median_ms, bs.min_ms, r.gflops, r.pct, r.peak);
    if (round_gflops)
      printf("paired: each step's GFLOP/s against the sgemm round run right after it: %.1f %% (median of %d)\n",
             paired, iters);
  }
}

static int run_bench_langevin(int argc, char **argv) {
  const char *arch = "uva-cnn", *ckpt = NULL;
  int64_t batch = 128;
  int iters = 20, warmup = 3, classes = 0, json = 0, paired = 0;
  cli_opt opts[] = {
      {"arch", OPT_STRING, &arch, "PRESET", "network preset (ignored with --ckpt)"},
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "benchmark this checkpoint's network instead"},
      {"classes", OPT_INT, &classes, "K", "class-conditional preset with K classes"},
      {"batch", OPT_INT64, &batch, "B", "items per Langevin step"},
      {"iters", OPT_INT, &iters, "N", "timed steps"},
      {"warmup", OPT_INT, &warmup, "W", "untimed steps first"},
      {"paired-peak", OPT_FLAG, &paired, NULL,
       "run one round of the peak's sgemms after each timed step and report the median share against it"},
      {"json", OPT_FLAG, &json, NULL, "print one JSON line instead of text"},
  };
  int rc = cli_parse("bench langevin", opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (batch < 1 || batch > 65536) return cli_usage_error("bench langevin", "--batch must be in [1, 65536], got %lld", (long long)batch);
  if (iters < 1) return cli_usage_error("bench langevin", "--iters must be at least 1, got %d", iters);
  if (warmup < 0) return cli_usage_error("bench langevin", "--warmup must be >= 0, got %d", warmup);
  if (classes < 0) return cli_usage_error("bench langevin", "--classes must be >= 0, got %d", classes);

  ebm_energy *en = NULL;
  bench_chains c = {0};
  double *times = NULL, *rounds = NULL;
  ebm_status st = EBM_OK;
  ebm_net *net = bench_net("bench langevin", arch, ckpt, classes, batch, &rc);
  if (!net) return rc;
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  if (!(en = ebm_net_as_energy(net)) || !(times = malloc((size_t)iters * sizeof *times)) ||
      (paired && !(rounds = malloc((size_t)iters * sizeof *rounds))))
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a batch of %lld", (long long)batch);
  if (st == EBM_OK) st = chains_new(net, en, batch, &rng, &c);
  if (st == EBM_OK) st = time_steps(net, &c, &rng, warmup, iters, times, rounds);
  if (st == EBM_OK) print_result(ckpt ? ckpt : arch, net, batch, iters, json, times, rounds);
  rc = st == EBM_OK ? CLI_EXIT_OK : cli_runtime_error(st);
  chains_free(&c);
  ebm_energy_free(en);
  ebm_net_free(net);
  free(times);
  free(rounds);
  return rc;
}

CLI_COMMAND(bench_langevin, "bench langevin", "[--arch PRESET | --ckpt CKPT] [--batch B] [--iters N]",
            "time one Langevin step (forward + backward to the input)",
            "Times Langevin steps on a batch as bench/torch_reference.py does (noise,\n"
            "clamp, dE/dx, clipped step, clamp) and reports ms per step (mean, median, min),\n"
            "GFLOP/s counting the conv/linear multiply-adds of the forward pass and of the\n"
            "backward pass to the input (4 FLOP per forward multiply-add), and that rate as a\n"
            "share of the sgemm peak measured at the same thread count (one 1024^3 sgemm per\n"
            "thread, best of 5, measured once at the start). On a machine whose speed drifts (a\n"
            "shared VM) that one peak can belong to another moment than the steps: --paired-peak\n"
            "runs one round of the same sgemms after every timed step and reports the median of\n"
            "each step's share of the round after it as well (it costs a round per step and\n"
            "evicts the caches before each step, so the step times are not the plain ones).\n"
            "bench/compare.sh puts it next to PyTorch.",
            run_bench_langevin)
