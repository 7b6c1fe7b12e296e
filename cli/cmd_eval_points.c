/* `ebm eval points`: generated point clouds against a reference set —
 * nearest-neighbour Chamfer distance and exact EMD, next to the same for
 * uniform noise clouds (ebm/points.h). */
#include <math.h>
#include <stdlib.h>

#include "class_shares.h"

#define VERB "eval points"

/* --classifier: the samples, the references and the noise baseline's clouds
 * through a shape classifier (ebm_classify_shares): c[0], c[1], c[2]. */
static ebm_status classify(const char *ckpt, const float *s, int64_t ns, const float *r, int64_t nr, int64_t p,
                           uint64_t seed, const int32_t *asked, ebm_class_shares c[3]) {
  float *cloud = malloc((size_t)(ns * p * 3) * sizeof *cloud);
  if (!cloud) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld noise clouds", (long long)ns);
  ebm_points_noise(r, nr, p, ns, seed, cloud);
  char what[96];
  snprintf(what, sizeof what, "clouds of %lld points are %lld", (long long)p, (long long)(p * 3));
  const cli_class_set sets[3] = {{s, ns, asked}, {r, nr, NULL}, {cloud, ns, NULL}};
  ebm_status st = cli_classify_sets(ckpt, p * 3, what, 0, NULL, sets, 3, c);
  free(cloud);
  return st;
}

static int run_eval_points(int argc, char **argv) {
  const char *samples_path = NULL, *ref_path = NULL, *png = NULL, *clf = NULL, *asked_spec = NULL;
  int64_t seed = 1;
  cli_opt opts[] = {
      {"samples", OPT_PATH_IN, &samples_path, "A.npy", "generated clouds, (n, P, 3) or (n, 1, P, 3) (required)"},
      {"ref", OPT_PATH_IN, &ref_path, "B.npy", "reference clouds, e.g. the training set (required)"},
      {"png", OPT_PATH_OUT, &png, "FILE", "draw the first samples (up to 8) as projections"},
      {"seed", OPT_INT64, &seed, "S", "seed of the noise baseline"},
      {"classifier", OPT_PATH_IN, &clf, "CLF", "a shape classifier (K logits, e.g. ebm train --method jem --px-weight 0): the class shares and confidence of the samples and the noise"},
      {"asked", OPT_STRING, &asked_spec, "cycle|Y", "with --classifier: the class each sample was asked for (cycle: sample i for i mod 3, as ebm sample cycles a conditional model's classes; Y: all for class Y of points:shapes' sphere, box, torus): the share landing on it"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!samples_path) return cli_usage_error(VERB, "--samples A.npy is required");
  if (!ref_path) return cli_usage_error(VERB, "--ref B.npy is required");
  if (asked_spec && !clf) return cli_usage_error(VERB, "--asked needs --classifier CLF");
  int asked_class = 0;
  if (asked_spec && (rc = cli_parse_asked(VERB, asked_spec, &asked_class))) return rc;
  float *s = NULL, *r = NULL;
  int32_t *asked = NULL;
  int64_t ns = 0, nr = 0, ps = 0, pr = 0;
  ebm_points_scores sc;
  ebm_class_shares classes[3];
  ebm_status st = ebm_points_load(samples_path, &s, &ns, &ps);
  if (st == EBM_OK) st = ebm_points_load(ref_path, &r, &nr, &pr);
  if (st == EBM_OK && ps != pr)
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: clouds of %lld points, %s has %lld; both need the same", samples_path,
                       (long long)ps, ref_path, (long long)pr);
  if (st == EBM_OK) st = ebm_points_compare(s, ns, r, nr, ps, (uint64_t)seed, &sc);
  if (st == EBM_OK && asked_spec && !(asked = malloc((size_t)ns * sizeof *asked)))
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld classes asked", (long long)ns);
  cli_fill_asked(asked, ns, asked_class);
  if (st == EBM_OK && clf) st = classify(clf, s, ns, r, nr, ps, (uint64_t)seed, asked, classes);
  if (st == EBM_OK && png) st = ebm_points_png(png, s, ns < 8 ? ns : 8, ps, -1.0f, 1.0f);
  if (st != EBM_OK) {
    rc = cli_runtime_error(st);
  } else {
    printf("%lld sample clouds of %lld points against %lld references:\n", (long long)ns, (long long)ps,
           (long long)nr);
    printf("  %-8s nearest-reference Chamfer %.5f  EMD %.5f\n", "samples", sc.chamfer, sc.emd);
    printf("  %-8s nearest-reference Chamfer %.5f  EMD %.5f\n", "noise", sc.noise_chamfer, sc.noise_emd);
    for (int k = 0; clf && k < 3; k++) cli_print_class_shares((const char *[]){"samples", "refs", "noise"}[k], &classes[k]);
    rc = CLI_EXIT_OK;
  }
  free(s);
  free(r);
  free(asked);
  return rc;
}

CLI_COMMAND(eval_points, "eval points", "--samples A.npy --ref B.npy [--png FILE] [--classifier CLF [--asked cycle|Y]]",
            "Chamfer distance and exact EMD of point clouds to a reference set",
            "For every sample cloud, finds the reference cloud with the smallest Chamfer distance (mean\n"
            "squared distance to the nearest point, both ways) and computes the exact earth mover's\n"
            "distance to it (mean Euclidean distance of the best one-to-one matching, Hungarian\n"
            "algorithm; clouds of up to 1024 points, else nan). Prints the means, and the same for as\n"
            "many clouds of uniform noise in the references' bounding box: a model should beat noise\n"
            "by far. --classifier CLF runs a shape classifier (a network of K logits on the\n"
            "clouds, e.g. examples/arch/pointnet-classifier.json trained by `ebm train --method jem\n"
            "--px-weight 0` on the data and its labels): for the samples, the references and the\n"
            "noise, the share of clouds given to each class, the mean top-class probability and\n"
            "the fraction classified with p >= 0.9; with --asked, also the share of samples\n"
            "classified as the class they were asked for. Clouds with\n"
            "NaN or Inf are refused, naming the cloud and the point.",
            run_eval_points)
