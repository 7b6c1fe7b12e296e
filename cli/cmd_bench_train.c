/* `ebm bench train`: the time of one full training iteration — what
 * bench/torch_reference.py reports as sec_per_iter: positives, 60
 * Langevin steps on buffer draws, the two energies and the parameter
 * gradient back through each, one Adam step — with the `uva` recipe (ebm_train_preset) on the
 * uva-cnn network by default, batch 128. The data are random images in the
 * recipe's range (the time does not depend on them), so no data set is
 * needed.
 *
 * FLOP per iteration (2 per conv/linear multiply-add, F = forward
 * multiply-adds per item, B = batch): K Langevin steps of 4F·B, two energy
 * forwards of 2F·B, two backward passes of 4F·B (input gradient, weight
 * gradient): (4K + 12)·F·B. The first layer's input gradient, skipped in
 * the parameter passes, is counted anyway (a few per cent). */
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define VERB "bench train"
#define DATA_ITEMS 1024

static void print_result(const char *arch, const char *preset, const ebm_net *net, const ebm_train_config *cfg,
                         int iters, int json, double *times) {
  const int64_t batch = cfg->batch;
  const bench_rate r = bench_rate_of(times, iters, (4.0 * cfg->sampler.steps + 12.0) * ebm_net_forward_flops(net) * (double)batch);
  const bench_stats bs = r.time;
  if (json)
    printf("{\"bench\":\"train\",\"arch\":\"%s\",\"isa\":\"%s\",\"preset\":\"%s\",\"batch\":%lld,\"steps\":%d,"
           "\"threads\":%d,\"iters\":%d,\"sec_per_iter\":%.5f,\"median_ms\":%.3f,\"min_ms\":%.3f,"
           "\"gflops\":%.3f,\"sgemm_peak_gflops\":%.3f,\"peak_pct\":%.2f}\n",
           arch, ebm_isa_name(ebm_isa_active()), preset, (long long)batch, cfg->sampler.steps,
           ebm_threads_count(), iters, bs.mean_ms / 1000.0, bs.median_ms, bs.min_ms, r.gflops, r.peak, r.pct);
  else
    printf("train %s (--preset %s, %d Langevin steps, %s path): batch %lld, %d threads: %.1f ms/iteration "
           "(median %.1f, min %.1f), %.2f GFLOP/s = %.1f %% of the sgemm peak measured here (%.1f GFLOP/s)\n",
           arch, preset, cfg->sampler.steps, ebm_isa_name(ebm_isa_active()), (long long)batch,
           ebm_threads_count(), bs.mean_ms,
           bs.median_ms, bs.min_ms, r.gflops, r.pct, r.peak);
}

static int run_bench_train(int argc, char **argv) {
  const char *arch = "uva-cnn", *preset = "uva";
  int64_t batch = 128;
  int iters = 5, warmup = 1, steps = -1, json = 0;
  cli_opt opts[] = {
      {"arch", OPT_STRING, &arch, "PRESET", "network preset"},
      {"preset", OPT_STRING, &preset, "NAME", "training recipe: uva (bench/torch_reference.py) | igebm"},
      {"batch", OPT_INT64, &batch, "B", "positives (and negatives) per iteration"},
      {"steps", OPT_INT, &steps, "K", "Langevin steps per iteration (-1: the recipe's, 60)"},
      {"iters", OPT_INT, &iters, "N", "timed iterations"},
      {"warmup", OPT_INT, &warmup, "W", "untimed iterations first"},
      {"json", OPT_FLAG, &json, NULL, "print one JSON line instead of text"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (batch < 1 || batch > 65536) return cli_usage_error(VERB, "--batch must be in [1, 65536], got %lld", (long long)batch);
  if (iters < 1 || iters > 100000) return cli_usage_error(VERB, "--iters must be in [1, 100000], got %d", iters);
  if (warmup < 0) return cli_usage_error(VERB, "--warmup must be >= 0, got %d", warmup);
  if (steps < -1 || steps > 100000) return cli_usage_error(VERB, "--steps must be in [-1, 100000], got %d", steps);
  ebm_train_config cfg = ebm_train_defaults();
  if (ebm_train_preset(preset, &cfg) != EBM_OK) return cli_usage_error(VERB, "--preset: %s", ebm_last_error());
  cfg.batch = batch;
  cfg.iters = warmup + iters;
  if (steps >= 0) cfg.sampler.steps = steps;
  if (cfg.buffer_size < batch) cfg.buffer_size = batch;

  ebm_trainer *tr = NULL;
  ebm_dataset ds;
  memset(&ds, 0, sizeof ds);
  double *times = NULL;
  ebm_status st;
  ebm_net *net = bench_net(VERB, arch, NULL, 0, batch, &rc);
  if (!net) return rc;
  const int nd = ebm_net_item_ndim(net);
  int64_t shape[4] = {DATA_ITEMS};
  memcpy(shape + 1, ebm_net_item_shape(net), (size_t)nd * sizeof *shape);
  snprintf(ds.spec, sizeof ds.spec, "random:%s", arch);
  ds.range_lo = cfg.range_lo;
  ds.range_hi = cfg.range_hi;
  times = malloc((size_t)iters * sizeof *times);
  if (!times || !(ds.x = ebm_tensor_new(nd + 1, shape))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %d random items", DATA_ITEMS);
    goto fail;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_uniform(&rng, ds.x->data, ebm_tensor_numel(ds.x), cfg.range_lo, cfg.range_hi);
  if ((st = ebm_trainer_new(net, &ds, &cfg, &tr)) != EBM_OK) goto fail;
  for (int it = 0; it < warmup + iters; it++) {
    ebm_train_stats s;
    if ((st = ebm_trainer_step(tr, &s)) != EBM_OK) goto fail;
    if (it >= warmup) times[it - warmup] = s.seconds;
  }
  print_result(arch, preset, net, &cfg, iters, json, times);
  rc = CLI_EXIT_OK;
  goto done;
fail:
  rc = cli_runtime_error(st);
done:
  ebm_trainer_free(tr);
  ebm_tensor_free(ds.x);
  ebm_net_free(net);
  free(times);
  return rc;
}

CLI_COMMAND(bench_train, "bench train", "[--arch PRESET] [--preset uva|igebm] [--batch B] [--iters N]",
            "time one full training iteration (Langevin negatives + update)",
            "Times ebm_trainer_step with the --preset recipe (default uva: the settings of\n"
            "bench/torch_reference.py, 60 Langevin steps, PCD buffer of 8192) on random\n"
            "images: what the reference reports as sec_per_iter. GFLOP/s counts conv/linear\n"
            "multiply-adds: (4·steps + 12) x forward multiply-adds x batch x 2 FLOP, shown as a\n"
            "share of the sgemm peak measured at the same thread count.",
            run_bench_train)
