/* `ebm eval voxels`: generated voxel grids against a reference set — the
 * mean IoU with the nearest reference grid, next to the same for uniform
 * noise (ebm/data_volumes.h) — and, with a shape classifier, what it calls
 * them (ebm_classify_shares). */
#include <stdlib.h>
#include <string.h>

#include "class_shares.h"

#define VERB "eval voxels"

/* Grids from an .npy: float32 (n, 1, D, H, W) or (n, D, H, W), the shape
 * of a grid into dhw. */
static ebm_status load_grids(const char *path, ebm_npy *a, int64_t dhw[3]) {
  ebm_status st = ebm_npy_load(path, a);
  if (st != EBM_OK) return st;
  const int five = a->ndim == 5 && a->shape[1] == 1;
  if (a->dtype != EBM_DTYPE_F32 || !(a->ndim == 4 || five) || a->shape[0] < 1) {
    char shape[96];
    return ebm_set_error(EBM_ERR_SHAPE, "%s: expected float32 voxel grids of shape (n, 1, D, H, W), got %s %s", path,
                         ebm_dtype_name(a->dtype), ebm_shape_str(a->ndim, a->shape, shape, sizeof shape));
  }
  for (int k = 0; k < 3; k++) dhw[k] = a->shape[a->ndim - 3 + k];
  return ebm_voxels_check_finite(a->data, a->shape[0], dhw[0] * dhw[1] * dhw[2], path);
}

/* --classifier: the samples (with the classes they were asked for), the
 * references and the noise baseline's grids through a classifier of the
 * three shapes: c[0], c[1], c[2]. */
static ebm_status classify(const char *ckpt, const ebm_npy *s, const ebm_npy *r, const int64_t dhw[3], float lo,
                           float hi, uint64_t seed, const int32_t *asked, ebm_class_shares c[4], int64_t *kept) {
  const int64_t ns = s->shape[0], v = dhw[0] * dhw[1] * dhw[2];
  float *noise = malloc((size_t)(ns * v) * sizeof *noise), *full = malloc((size_t)(ns * v) * sizeof *full);
  int32_t *full_asked = asked ? malloc((size_t)ns * sizeof *full_asked) : NULL;
  ebm_status st = EBM_OK;
  if (!noise || !full || (asked && !full_asked)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld noise grids", (long long)ns);
    goto done;
  }
  ebm_voxels_noise(ns, v, lo, hi, seed, noise);
  /* the samples with at least one occupied voxel: a classifier calls an empty grid something too */
  const float mid = lo + 0.5f * (hi - lo);
  *kept = 0;
  for (int64_t i = 0; i < ns; i++) {
    const float *g = (const float *)s->data + i * v;
    int64_t k = 0;
    while (k < v && !(g[k] > mid)) k++;
    if (k == v) continue;
    memcpy(full + *kept * v, g, (size_t)v * sizeof *g);
    if (asked) full_asked[*kept] = asked[i];
    (*kept)++;
  }
  char what[96];
  snprintf(what, sizeof what, "grids of %lldx%lldx%lld are %lld", (long long)dhw[0], (long long)dhw[1],
           (long long)dhw[2], (long long)v);
  const cli_class_set sets[4] = {{s->data, ns, asked}, {r->data, r->shape[0], NULL}, {noise, ns, NULL},
                                 {full, *kept, full_asked}};
  st = cli_classify_sets(ckpt, v, what, EBM_SHAPE_COUNT, "sphere, box, torus", sets, *kept > 0 && *kept < ns ? 4 : 3, c);
done:
  free(noise);
  free(full);
  free(full_asked);
  return st;
}

static int run_eval_voxels(int argc, char **argv) {
  const char *samples_path = NULL, *ref_path = NULL, *png = NULL, *range = "0,1", *clf = NULL, *asked_spec = NULL;
  int64_t seed = 1;
  cli_opt opts[] = {
      {"samples", OPT_PATH_IN, &samples_path, "S.npy", "generated grids, (n, 1, D, H, W) (required)"},
      {"ref", OPT_PATH_IN, &ref_path, "R.npy", "reference grids, e.g. the training set (required)"},
      {"range", OPT_STRING, &range, "LO,HI", "the grids' value range; a voxel is occupied above its midpoint"},
      {"png", OPT_PATH_OUT, &png, "FILE", "draw the first samples (up to 8) as three views"},
      {"seed", OPT_INT64, &seed, "S", "seed of the noise baseline"},
      {"classifier", OPT_PATH_IN, &clf, "CLF", "a classifier of the three shapes (3 logits on a grid, e.g. examples/arch/voxel-classifier.json trained by ebm train --method jem --px-weight 0): class shares and confidence of the samples, references and noise"},
      {"asked", OPT_STRING, &asked_spec, "cycle|Y", "with --classifier: the class each sample was asked for (cycle: sample i for i mod 3, as ebm sample cycles a conditional model's classes; Y: all for class Y): the share landing on it"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!samples_path) return cli_usage_error(VERB, "--samples S.npy is required");
  if (!ref_path) return cli_usage_error(VERB, "--ref R.npy is required");
  if (asked_spec && !clf) return cli_usage_error(VERB, "--asked needs --classifier CLF");
  int asked_class = 0;
  if (asked_spec && (rc = cli_parse_asked(VERB, asked_spec, &asked_class))) return rc;
  float lo = 0, hi = 1;
  if ((rc = cli_parse_range(VERB, range, &lo, &hi))) return rc;
  ebm_npy s = {0}, r = {0};
  int64_t ds[3], dr[3];
  ebm_voxel_scores sc;
  ebm_class_shares classes[4];
  int64_t kept = 0;
  int32_t *asked = NULL;
  ebm_status st = load_grids(samples_path, &s, ds);
  if (st == EBM_OK) st = load_grids(ref_path, &r, dr);
  if (st == EBM_OK && (ds[0] != dr[0] || ds[1] != dr[1] || ds[2] != dr[2]))
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: grids of %lldx%lldx%lld, %s has %lldx%lldx%lld; both need the same",
                       samples_path, (long long)ds[0], (long long)ds[1], (long long)ds[2], ref_path,
                       (long long)dr[0], (long long)dr[1], (long long)dr[2]);
  const int64_t ns = st == EBM_OK ? s.shape[0] : 0, nr = st == EBM_OK ? r.shape[0] : 0;
  if (st == EBM_OK && asked_spec && !(asked = malloc((size_t)ns * sizeof *asked)))
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld labels", (long long)ns);
  cli_fill_asked(asked, ns, asked_class);
  if (st == EBM_OK) st = ebm_voxels_compare(s.data, ns, r.data, nr, ds, lo, hi, (uint64_t)seed, &sc);
  if (st == EBM_OK && clf) st = classify(clf, &s, &r, ds, lo, hi, (uint64_t)seed, asked, classes, &kept);
  if (st == EBM_OK && png) st = ebm_png_write_voxels(png, s.data, ns < 8 ? ns : 8, (int)ds[0], (int)ds[1], (int)ds[2]);
  if (st != EBM_OK) {
    rc = cli_runtime_error(st);
  } else {
    printf("%lld sample grids of %lldx%lldx%lld against %lld references (occupied above %g):\n", (long long)ns,
           (long long)ds[0], (long long)ds[1], (long long)ds[2], (long long)nr, (double)(lo + 0.5f * (hi - lo)));
    printf("  %-8s nearest-reference IoU %.4f  occupied %.4f (references %.4f)\n", "samples", sc.iou,
           sc.occupancy, sc.ref_occupancy);
    printf("  %-8s nearest-reference IoU %.4f\n", "noise", sc.noise_iou);
    for (int k = 0; k < 2; k++) {
      printf("  %-8s nearest-reference surface Chamfer %.5f", k ? "noise" : "samples", k ? sc.noise_chamfer : sc.chamfer);
      if (k ? sc.noise_empty : sc.empty) printf(" (%lld empty grids left out)", (long long)(k ? sc.noise_empty : sc.empty));
      printf("\n");
    }
    for (int k = 0; clf && k < 3; k++) cli_print_class_shares((const char *[]){"samples", "refs", "noise"}[k], &classes[k]);
    if (clf && kept > 0 && kept < ns) {
      printf("  (the %lld samples that are not empty:)\n", (long long)kept);
      cli_print_class_shares("nonempty", &classes[3]);
    }
    rc = CLI_EXIT_OK;
  }
  free(asked);
  ebm_npy_free(&s);
  ebm_npy_free(&r);
  return rc;
}

CLI_COMMAND(eval_voxels, VERB,
            "--samples S.npy --ref R.npy [--range LO,HI] [--png FILE] [--classifier CLF [--asked cycle|Y]]",
            "IoU and surface Chamfer of generated voxel grids to their nearest reference grid",
            "Thresholds every grid at the midpoint of --range (default 0,1: occupancy), finds for\n"
            "each sample the reference grid with the highest intersection over union and prints the\n"
            "mean, the fraction of occupied voxels, and the same IoU for as many grids of uniform\n"
            "noise in the range: a model should beat noise by far; then the same for the surface\n"
            "Chamfer distance (occupied voxels with an empty neighbour as points, the longest side\n"
            "spanning 2 as in eval points; empty grids left out). --classifier CLF runs a\n"
            "classifier of the three shapes (sphere, box, torus: 3 logits on a grid of the same size)\n"
            "on the samples, the references and the noise grids, and prints the share given to each\n"
            "class, the mean top-class probability and the fraction classified with p >= 0.9; with\n"
            "--asked, also the share of samples classified as the class they were asked for. When some\n"
            "samples are empty, the same line follows for the others alone (an empty grid gets a class\n"
            "too). Grids\n"
            "with NaN or Inf are refused, naming the grid and the voxel.",
            run_eval_voxels)
