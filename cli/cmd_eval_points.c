/* `ebm eval points`: generated point clouds against a reference set —
 * nearest-neighbour Chamfer distance and exact EMD, next to the same for
 * uniform noise clouds (ebm/points.h). */
#include <math.h>
#include <stdlib.h>

#include "cli.h"

#define VERB "eval points"

static int run_eval_points(int argc, char **argv) {
  const char *samples_path = NULL, *ref_path = NULL, *png = NULL;
  int64_t seed = 1;
  cli_opt opts[] = {
      {"samples", OPT_PATH_IN, &samples_path, "A.npy", "generated clouds, (n, P, 3) or (n, 1, P, 3) (required)"},
      {"ref", OPT_PATH_IN, &ref_path, "B.npy", "reference clouds, e.g. the training set (required)"},
      {"png", OPT_PATH_OUT, &png, "FILE", "draw the first samples (up to 8) as projections"},
      {"seed", OPT_INT64, &seed, "S", "seed of the noise baseline"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!samples_path) return cli_usage_error(VERB, "--samples A.npy is required");
  if (!ref_path) return cli_usage_error(VERB, "--ref B.npy is required");
  float *s = NULL, *r = NULL;
  int64_t ns = 0, nr = 0, ps = 0, pr = 0;
  ebm_points_scores sc;
  ebm_status st = ebm_points_load(samples_path, &s, &ns, &ps);
  if (st == EBM_OK) st = ebm_points_load(ref_path, &r, &nr, &pr);
  if (st == EBM_OK && ps != pr)
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: clouds of %lld points, %s has %lld; both need the same", samples_path,
                       (long long)ps, ref_path, (long long)pr);
  if (st == EBM_OK) st = ebm_points_compare(s, ns, r, nr, ps, (uint64_t)seed, &sc);
  if (st == EBM_OK && png) st = ebm_points_png(png, s, ns < 8 ? ns : 8, ps, -1.0f, 1.0f);
  if (st != EBM_OK) {
    rc = cli_runtime_error(st);
  } else {
    printf("%lld sample clouds of %lld points against %lld references:\n", (long long)ns, (long long)ps,
           (long long)nr);
    printf("  %-8s nearest-reference Chamfer %.5f  EMD %.5f\n", "samples", sc.chamfer, sc.emd);
    printf("  %-8s nearest-reference Chamfer %.5f  EMD %.5f\n", "noise", sc.noise_chamfer, sc.noise_emd);
    rc = CLI_EXIT_OK;
  }
  free(s);
  free(r);
  return rc;
}

CLI_COMMAND(eval_points, "eval points", "--samples A.npy --ref B.npy [--png FILE]",
            "Chamfer distance and exact EMD of point clouds to a reference set",
            "For every sample cloud, finds the reference cloud with the smallest Chamfer distance (mean\n"
            "squared distance to the nearest point, both ways) and computes the exact earth mover's\n"
            "distance to it (mean Euclidean distance of the best one-to-one matching, Hungarian\n"
            "algorithm; clouds of up to 1024 points, else nan). Prints the means, and the same for as\n"
            "many clouds of uniform noise in the references' bounding box: a model should beat noise\n"
            "by far. Clouds with NaN or Inf are refused, naming the cloud and the point.",
            run_eval_points)
