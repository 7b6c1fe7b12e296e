/* Inpainting judged by a classifier (ebm_inpaint_score_run): on a toy whose
 * class lives in the bottom half and whose energy ties the bottom half to
 * the top, the fill restores the class the noise start lost; refusals. */
#include "test_util.h"

#define SIDE 8
#define ITEM (SIDE * SIDE)

/* E(x) = K/2 · Σ over the bottom half of (x_i − x_mirror(i))², the mirror
 * of a pixel being the one reflected across the middle row: the energy
 * knows nothing of classes, only that the bottom repeats the top. */
#define TIE 0.1
static ebm_status tied_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  (void)self;
  (void)cond;
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * ITEM;
    double s = 0.0;
    if (grad) memset(grad + i * ITEM, 0, ITEM * sizeof(float));
    for (int r = SIDE / 2; r < SIDE; r++)
      for (int c = 0; c < SIDE; c++) {
        const int b = r * SIDE + c, t = (SIDE - 1 - r) * SIDE + c;
        const double d = (double)xi[b] - xi[t];
        s += 0.5 * TIE * d * d;
        if (grad) {
          grad[i * ITEM + b] = (float)(TIE * d);
          grad[i * ITEM + t] = (float)(-TIE * d);
        }
      }
    e[i] = (float)s;
  }
  return EBM_OK;
}

static ebm_energy *tied_energy(int classes) {
  ebm_energy *en = ebm_energy_alloc();
  en->name = "tied halves";
  en->item_ndim = 3;
  en->item_shape[0] = 1;
  en->item_shape[1] = SIDE;
  en->item_shape[2] = SIDE;
  en->num_classes = classes;
  en->range_lo = 0.0f;
  en->range_hi = 1.0f;
  en->eval = tied_eval;
  return en;
}

/* n images: class y has its bottom half at 0.9 (y = 0) or 0.1 (y = 1),
 * plus U(0, 0.05); the top half is the same (`tied`) or uniform noise. */
static void make_items(ebm_rng *rng, int64_t n, int tied, float *x, int32_t *y) {
  ebm_rng_uniform(rng, x, n * ITEM, 0.0f, 1.0f);
  for (int64_t i = 0; i < n; i++) {
    y[i] = (int32_t)(ebm_rng_u32(rng) % 2);
    const float level = y[i] == 0 ? 0.9f : 0.1f;
    for (int k = tied ? 0 : ITEM / 2; k < ITEM; k++) x[i * ITEM + k] = level + 0.05f * (float)ebm_rng_double(rng);
  }
}

/* A classifier that looks at the bottom half only (trained with noise on top). */
static ebm_classifier *bottom_half_classifier(ebm_rng *rng) {
  const int64_t n = 400;
  ebm_tensor *x = ebm_tensor_new4(n, 1, SIDE, SIDE);
  int32_t *y = malloc((size_t)n * sizeof *y);
  REQUIRE(x && y);
  make_items(rng, n, 0, x->data, y);
  ebm_dataset ds = {"bottom-half classes", x, y, 2, 0.0f, 1.0f, 0};
  ebm_classifier_arch a = ebm_classifier_arch_for(1, SIDE, SIDE, 2, 0.0f, 1.0f);
  a.conv_width = 4;
  a.features = 8;
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 50, &c));
  REQUIRE_OK(ebm_classifier_init(c, rng));
  ebm_classifier_train_config cfg = ebm_classifier_train_defaults();
  cfg.epochs = 4;
  cfg.batch = 20;
  REQUIRE_OK(ebm_classifier_train(c, &ds, &cfg, NULL, NULL));
  ebm_tensor_free(x);
  free(y);
  return c;
}

/* What both scoring tests share: a classifier of the bottom half, TIED_N
 * tied images (labelled) and room for the TIED_DRAWN drawn and filled. */
#define TIED_N 300
#define TIED_DRAWN 200
typedef struct {
  ebm_classifier *clf;
  ebm_tensor *x;
  int32_t *y;
  float *drawn, *filled;
  ebm_dataset ds;
} tied_fixture;

static void tied_fixture_open(tied_fixture *f) {
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  f->clf = bottom_half_classifier(&rng);
  f->x = ebm_tensor_new4(TIED_N, 1, SIDE, SIDE);
  f->y = malloc((size_t)TIED_N * sizeof *f->y);
  f->drawn = malloc((size_t)(TIED_DRAWN * ITEM) * sizeof *f->drawn);
  f->filled = malloc((size_t)(TIED_DRAWN * ITEM) * sizeof *f->filled);
  REQUIRE(f->x && f->y && f->drawn && f->filled);
  make_items(&rng, TIED_N, 1, f->x->data, f->y);
  f->ds = (ebm_dataset){"tied halves", f->x, f->y, 2, 0.0f, 1.0f, 0};
}

static void tied_fixture_close(tied_fixture *f) {
  ebm_classifier_free(f->clf);
  ebm_tensor_free(f->x);
  free(f->y);
  free(f->drawn);
  free(f->filled);
}

TEST(inpaint_score_counts_the_classes_a_fill_restores) {
  tied_fixture f;
  tied_fixture_open(&f);
  const int64_t N = TIED_N, n = TIED_DRAWN;
  ebm_tensor *x = f.x;
  float *drawn = f.drawn, *filled = f.filled;
  ebm_classifier *clf = f.clf;
  ebm_dataset ds = f.ds;
  ebm_energy *en = tied_energy(0);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.grad_clip = 0.0f; /* λ/2 · TIE = 0.5: each step halves the gap to the mirror */
  ebm_inpaint_score r;
  ebm_rng run;
  ebm_rng_init(&run, 9);
  REQUIRE_OK(ebm_inpaint_score_run(en, &cfg, &ds, n, "bottom-half", clf, 0.0f, 1.0f, NULL, &run, drawn, filled, &r));
  CHECK_EQ_INT(r.n, n);
  CHECK(r.acc_original >= 0.97);                     /* the ceiling: the classifier works */
  CHECK(r.acc_start < 0.8); /* noise in the bottom half: the classifier is lost */
  CHECK(r.acc_filled >= 0.97);                       /* the fill copied the top back */
  CHECK(r.mse_filled < 0.01 && r.mse_start > 0.1);
  CHECK(r.e_filled < 0.1 * r.e_start);
  /* the items drawn are items of the set, in data order, and their top halves survive the fill bit-for-bit */
  int64_t at = 0, in_order = 1, kept = 1;
  for (int64_t i = 0; i < n; i++) {
    while (at < N && memcmp(x->data + at * ITEM, drawn + i * ITEM, ITEM / 2 * sizeof(float)) != 0) at++;
    in_order &= at < N;
    at++;
    kept &= memcmp(drawn + i * ITEM, filled + i * ITEM, ITEM / 2 * sizeof(float)) == 0;
  }
  CHECK(in_order);
  CHECK(kept);
  /* the same seed gives the same numbers */
  ebm_inpaint_score again;
  ebm_rng_init(&run, 9);
  REQUIRE_OK(ebm_inpaint_score_run(en, &cfg, &ds, n, "bottom-half", clf, 0.0f, 1.0f, NULL, &run, NULL, NULL, &again));
  CHECK(again.acc_filled == r.acc_filled && again.mse_filled == r.mse_filled);
  ebm_energy_free(en);
  tied_fixture_close(&f);
}

/* The Gaussian fitted to the tied images knows the bottom repeats the top:
 * its conditional mean alone restores the class the noise start lost, and
 * with 0 steps the fill is that start. */
TEST(inpaint_score_from_the_conditional_gaussian_start) {
  tied_fixture f;
  tied_fixture_open(&f);
  ebm_energy *en = tied_energy(0), *g = NULL;
  REQUIRE_OK(ebm_gaussian_energy_fit(f.x->data, TIED_N, ITEM, TIED_N, &g));
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 0;
  ebm_inpaint_score r;
  ebm_rng run;
  ebm_rng_init(&run, 9);
  REQUIRE_OK(ebm_inpaint_score_run(en, &cfg, &f.ds, TIED_DRAWN, "bottom-half", f.clf, 0.0f, 1.0f, g, &run, f.drawn,
                                   f.filled, &r));
  CHECK(r.acc_start >= 0.97);
  CHECK(r.acc_filled == r.acc_start && r.mse_filled == r.mse_start);
  CHECK(r.mse_start < 0.01); /* the bottom at its level ± the pixels' own U(0, 0.05) spread */
  int kept = 1, in_range = 1;
  for (int64_t k = 0; k < TIED_DRAWN * ITEM; k++) {
    kept &= k % ITEM >= ITEM / 2 || f.filled[k] == f.drawn[k];
    in_range &= f.filled[k] >= 0.0f && f.filled[k] <= 1.0f;
  }
  CHECK(kept);
  CHECK(in_range);
  ebm_energy_free(g);
  ebm_energy_free(en);
  tied_fixture_close(&f);
}

TEST(inpaint_score_refuses_conditional_models_unlabelled_data_and_other_shapes) {
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  ebm_classifier_arch a = ebm_classifier_arch_for(1, SIDE, SIDE, 2, 0.0f, 1.0f);
  ebm_classifier *clf = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 8, &clf));
  REQUIRE_OK(ebm_classifier_init(clf, &rng));
  ebm_tensor *x = ebm_tensor_new4(4, 1, SIDE, SIDE);
  int32_t y[4] = {0, 1, 0, 1};
  REQUIRE(x);
  ebm_rng_uniform(&rng, x->data, 4 * ITEM, 0.0f, 1.0f);
  ebm_dataset ds = {"four", x, y, 2, 0.0f, 1.0f, 0}, bare = {"bare", x, NULL, 0, 0.0f, 1.0f, 0};
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 2;
  ebm_inpaint_score r;
  ebm_energy *cond = tied_energy(2), *en = tied_energy(0);
  CHECK_FAILS_WITH(ebm_inpaint_score_run(cond, &cfg, &ds, 0, "bottom-half", clf, 0, 1, NULL, &rng, NULL, NULL, &r),
                   EBM_ERR_ARG, "class-conditional");
  CHECK_FAILS_WITH(ebm_inpaint_score_run(en, &cfg, &bare, 0, "bottom-half", clf, 0, 1, NULL, &rng, NULL, NULL, &r),
                   EBM_ERR_ARG, "bare has no labels");
  CHECK_FAILS_WITH(ebm_inpaint_score_run(en, &cfg, &ds, 0, "top-half", clf, 0, 1, NULL, &rng, NULL, NULL, &r), EBM_ERR_ARG,
                   "patterns are right-half, bottom-half");
  ebm_tensor flat = *x;
  flat.ndim = 2;
  flat.shape[1] = ITEM;
  ebm_dataset vectors = {"vectors", &flat, y, 2, 0.0f, 1.0f, 0};
  CHECK_FAILS_WITH(ebm_inpaint_score_run(en, &cfg, &vectors, 0, "bottom-half", clf, 0, 1, NULL, &rng, NULL, NULL, &r),
                   EBM_ERR_SHAPE, "the classifier takes 1x8x8");
  int32_t bad[4] = {0, 1, 2, 1};
  ebm_dataset three = {"three classes", x, bad, 3, 0.0f, 1.0f, 0};
  CHECK_FAILS_WITH(ebm_inpaint_score_run(en, &cfg, &three, 0, "bottom-half", clf, 0, 1, NULL, &rng, NULL, NULL, &r),
                   EBM_ERR_ARG, "label 2 of item 2");
  ebm_energy_free(cond);
  ebm_energy_free(en);
  ebm_classifier_free(clf);
  ebm_tensor_free(x);
}
