/* `ebm bench layers`: per-layer times of a network's three passes —
 * forward, gradient to the input (the Langevin path) and gradient to the
 * parameters — each as ms, GFLOP/s (2 FLOP per conv/linear multiply-add)
 * and % of the sgemm peak measured here. Layers run unfused, one at a time
 * (a Langevin step fuses conv + swish), so the sum is an upper bound of a
 * step's layer time. */
#include <stdlib.h>

#include "bench_util.h"
#include "nn/nn_bench.h"

#define VERB "bench layers"
#define MAX_LAYERS 64

static void print_pass(double madds, int64_t batch, double ms, double peak) {
  if (madds <= 0 || ms <= 0) {
    printf(" %9.3f %8s %6s |", ms, "", "");
    return;
  }
  double gflops = 2.0 * madds * (double)batch / (ms * 1e6);
  printf(" %9.3f %8.1f %5.1f%% |", ms, gflops, peak > 0 ? 100.0 * gflops / peak : 0.0);
}

static int run_bench_layers(int argc, char **argv) {
  const char *arch = "uva-cnn", *ckpt = NULL;
  int64_t batch = 128;
  int iters = 15, classes = 0;
  cli_opt opts[] = {
      {"arch", OPT_STRING, &arch, "PRESET", "network preset (ignored with --ckpt)"},
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "benchmark this checkpoint's network instead"},
      {"classes", OPT_INT, &classes, "K", "class-conditional preset with K classes"},
      {"batch", OPT_INT64, &batch, "B", "items per pass"},
      {"iters", OPT_INT, &iters, "N", "timed runs of each pass (the median is shown)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (batch < 1 || batch > 65536) return cli_usage_error(VERB, "--batch must be in [1, 65536], got %lld", (long long)batch);
  if (iters < 1 || iters > 100000) return cli_usage_error(VERB, "--iters must be in [1, 100000], got %d", iters);
  if (classes < 0) return cli_usage_error(VERB, "--classes must be >= 0, got %d", classes);
  ebm_net *net = bench_net(VERB, arch, ckpt, classes, batch, &rc);
  if (!net) return rc;
  nn_layer_time *t = malloc(MAX_LAYERS * sizeof *t);
  int count = 0;
  ebm_status st = t ? nn_bench_layers(net, batch, iters, t, MAX_LAYERS, &count)
                    : ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  if (st) {
    rc = cli_runtime_error(st);
  } else {
    double peak = bench_sgemm_peak(), sum[3] = {0, 0, 0}, madds = 0;
    printf("layers of %s: batch %lld, %d threads, sgemm peak measured here %.1f GFLOP/s; median of %d runs\n\n",
           ckpt ? ckpt : arch, (long long)batch, ebm_threads_count(), peak, iters);
    printf("| layer | kind | MMAC/item | forward ms | GFLOP/s | peak | input-grad ms | GFLOP/s | peak | weight-grad ms | GFLOP/s | peak |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < count; i++) {
      printf("| %s | %s | %.2f |", t[i].name, t[i].kind, t[i].madds / 1e6);
      print_pass(t[i].madds, batch, t[i].fwd_ms, peak);
      print_pass(t[i].madds, batch, t[i].bwd_in_ms, peak);
      print_pass(t[i].madds, batch, t[i].bwd_w_ms, peak);
      printf("\n");
      sum[0] += t[i].fwd_ms, sum[1] += t[i].bwd_in_ms, sum[2] += t[i].bwd_w_ms;
      madds += t[i].madds;
    }
    printf("| total | | %.2f |", madds / 1e6);
    for (int p = 0; p < 3; p++) print_pass(madds, batch, sum[p], peak);
    printf("\n");
  }
  free(t);
  ebm_net_free(net);
  return rc;
}

CLI_COMMAND(bench_layers, "bench layers", "[--arch PRESET | --ckpt CKPT] [--batch B] [--iters N]",
            "time each layer's forward, input-gradient and weight-gradient pass",
            "Prints a markdown table: per top-level layer the median ms of its forward pass, its\n"
            "gradient to the input and its gradient to the parameters, with GFLOP/s (2 FLOP per\n"
            "conv/linear multiply-add) and the share of the sgemm peak measured at the same\n"
            "thread count. Layers run one at a time, unfused.",
            run_bench_layers)
