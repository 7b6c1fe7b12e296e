/* The Gaussian mixture in the data's principal subspace (fresh chain starts
 * for data of many separate modes): its energy is −log p computed by hand
 * from its parts, its gradient matches finite differences, its draws land
 * in the data's clusters in the clusters' proportions where one Gaussian's
 * draws fall between them, the fit is the same bit for bit, and the chain
 * start and training settings name it and refuse what it cannot be. */
#include "test_util.h"

#define TWO_PI 6.283185307179586477

/* n items of dimension d in two clusters: pattern a (the first third of
 * the values 1, the rest 0) for a share `share_a` of them, pattern b (the
 * last third 1) for the rest; items i with i·share_a crossing an integer
 * are a's, so the share is exact. Each value gets N(0, noise²). */
static float *two_clusters(int64_t n, int64_t d, double share_a, double noise, uint64_t seed, int *is_a) {
  float *x = malloc((size_t)(n * d) * sizeof *x);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  for (int64_t i = 0; i < n; i++) {
    const int a = (int)floor((double)(i + 1) * share_a) > (int)floor((double)i * share_a);
    if (is_a) is_a[i] = a;
    ebm_rng_normal(&rng, x + i * d, d, 0.0f, (float)noise);
    for (int64_t t = 0; t < d; t++) {
      const int on = a ? t < d / 3 : t >= d - d / 3;
      x[i * d + t] += on ? 1.0f : 0.0f;
    }
  }
  return x;
}

/* log N(c; m, S) for a small dense S (r×r), by Cholesky in the test. */
static double dense_log_normal(int64_t r, const double *c, const double *m, const double *S) {
  double L[16 * 16] = {0}, y[16];
  REQUIRE(r <= 16);
  for (int64_t i = 0; i < r; i++)
    for (int64_t j = 0; j <= i; j++) {
      double s = S[i * r + j];
      for (int64_t k = 0; k < j; k++) s -= L[i * 16 + k] * L[j * 16 + k];
      L[i * 16 + j] = i == j ? sqrt(s) : s / L[j * 16 + j];
    }
  double q = 0, log_det = 0;
  for (int64_t i = 0; i < r; i++) {
    double s = c[i] - m[i];
    for (int64_t k = 0; k < i; k++) s -= L[i * 16 + k] * y[k];
    y[i] = s / L[i * 16 + i];
    q += y[i] * y[i];
    log_det += 2.0 * log(L[i * 16 + i]);
  }
  return -0.5 * (double)r * log(TWO_PI) - 0.5 * log_det - 0.5 * q;
}

/* −log p(x) from the parts, written out: the mixture on c = Uᵀ(x − μ) and
 * N(0, σ²) on each of the D − r directions off the subspace. */
static double brute_energy(const ebm_energy *en, const float *x) {
  const ebm_energy *sub;
  const ebm_gmm *mix;
  REQUIRE_OK(ebm_subspace_mixture_parts(en, &sub, &mix));
  int64_t r;
  const double *mu, *u, *lambda;
  double s2;
  REQUIRE_OK(ebm_gaussian_lowrank_factors(sub, &r, &mu, &u, &lambda, &s2));
  const int64_t D = ebm_energy_item_size(en), K = ebm_gmm_components(mix);
  double c[16] = {0}, perp = 0, m[16], S[256], w;
  REQUIRE(r <= 16);
  for (int64_t t = 0; t < D; t++)
    for (int64_t k = 0; k < r; k++) c[k] += u[t * r + k] * ((double)x[t] - mu[t]);
  for (int64_t t = 0; t < D; t++) {
    double off = (double)x[t] - mu[t];
    for (int64_t k = 0; k < r; k++) off -= u[t * r + k] * c[k];
    perp += off * off;
  }
  double p = 0;
  for (int64_t j = 0; j < K; j++) {
    REQUIRE_OK(ebm_gmm_component(mix, j, &w, m, S));
    p += w * exp(dense_log_normal(r, c, m, S));
  }
  return -log(p) + 0.5 * perp / s2 + 0.5 * (double)(D - r) * log(TWO_PI * s2);
}

TEST(subspace_mixture_energy_is_minus_log_density_from_its_parts) {
  const int64_t n = 60, D = 12;
  float *x = two_clusters(n, D, 0.4, 0.1, 5, NULL);
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_subspace_mixture_fit(x, n, D, 1000, 4, 2, &en));
  double log_z = 1.0;
  CHECK_OK(ebm_gaussian_energy_log_z(en, &log_z));
  CHECK_NEAR(log_z, 0.0, 0.0);
  float e[3];
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, 3, e, NULL));
  for (int i = 0; i < 3; i++) {
    const double want = brute_energy(en, x + i * D);
    CHECK_NEAR(e[i], want, 1e-4 * fabs(want) + 1e-4);
  }
  ebm_energy_free(en);
  free(x);
}

TEST(subspace_mixture_gradient_matches_finite_differences) {
  const int64_t n = 60, D = 12;
  float *x = two_clusters(n, D, 0.4, 0.1, 6, NULL);
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_subspace_mixture_fit(x, n, D, 1000, 4, 2, &en));
  float p[12], g[12], e;
  for (int64_t t = 0; t < D; t++) p[t] = 0.5f * x[t] + 0.5f * x[D + t] + 0.05f * (float)(t % 3); /* between items */
  REQUIRE_OK(ebm_energy_eval(en, p, NULL, 1, &e, g));
  const double h = 1e-3;
  for (int64_t t = 0; t < D; t++) {
    float q[12];
    memcpy(q, p, sizeof q);
    q[t] = p[t] + (float)h;
    const double up = brute_energy(en, q);
    q[t] = p[t] - (float)h;
    const double down = brute_energy(en, q);
    const double fd = (up - down) / ((double)(p[t] + (float)h) - (double)(p[t] - (float)h));
    CHECK_NEAR(g[t], fd, 2e-3 * fabs(fd) + 2e-3);
  }
  ebm_energy_free(en);
  free(x);
}

/* Above the full fit's size, as voxel grids: with clusters 30 % / 70 %,
 * every mixture draw is near one pattern (mean squared distance to the
 * nearer under the midpoint's), a is drawn 30 % of the time within 5
 * standard errors; a third of one Gaussian's draws are near neither. */
TEST(subspace_mixture_draws_land_in_the_data_clusters_in_their_shares) {
  const int64_t n = 200, D = 4800, draws = 400;
  float *x = two_clusters(n, D, 0.3, 0.05, 7, NULL);
  ebm_energy *mix = NULL, *one = NULL;
  REQUIRE_OK(ebm_subspace_mixture_fit(x, n, D, 10000, EBM_SUBSPACE_MIXTURE_RANK, 2, &mix));
  REQUIRE_OK(ebm_gaussian_energy_fit(x, n, D, 10000, &one));
  float *s = malloc((size_t)(draws * D) * sizeof *s);
  REQUIRE(s);
  int counts[2][3] = {{0}}; /* [model][near a, near b, near neither] */
  for (int model = 0; model < 2; model++) {
    ebm_rng rng;
    ebm_rng_init(&rng, 11);
    REQUIRE_OK(ebm_gaussian_energy_sample(model ? one : mix, &rng, draws, s));
    for (int64_t i = 0; i < draws; i++) {
      double da = 0, db = 0;
      for (int64_t t = 0; t < D; t++) {
        const double v = s[i * D + t], a = t < D / 3 ? 1.0 : 0.0, b = t >= D - D / 3 ? 1.0 : 0.0;
        da += (v - a) * (v - a);
        db += (v - b) * (v - b);
      }
      /* the midpoint of a and b is 0.25 from each on 2/3 of the values: 1/6 per value */
      const double near = (da < db ? da : db) / (double)D;
      counts[model][near < 0.5 / 6.0 ? (da < db ? 0 : 1) : 2]++;
    }
  }
  CHECK_EQ_INT(counts[0][2], 0);
  const double share = counts[0][0] / (double)draws, se = sqrt(0.3 * 0.7 / (double)draws);
  CHECK_NEAR(share, 0.3, 5.0 * se);
  /* one Gaussian's draws spread along b − a as N(0.7, 0.46²) (0 at a, 1 at
   * b): about 31 % fall in neither's reach (|t| and |1 − t| above 0.35) */
  CHECK(counts[1][2] > draws / 5);
  ebm_energy_free(mix);
  ebm_energy_free(one);
  free(s);
  free(x);
}

TEST(subspace_mixture_fit_and_draws_are_the_same_bit_for_bit) {
  const int64_t n = 90, D = 300;
  float *x = two_clusters(n, D, 0.5, 0.1, 8, NULL);
  float a[2 * 300], b[2 * 300];
  for (int k = 0; k < 2; k++) {
    ebm_energy *en = NULL;
    REQUIRE_OK(ebm_subspace_mixture_fit(x, n, D, 10000, 16, 3, &en));
    ebm_rng rng;
    ebm_rng_init(&rng, 3);
    REQUIRE_OK(ebm_gaussian_energy_sample(en, &rng, 2, k ? b : a));
    ebm_energy_free(en);
  }
  CHECK(memcmp(a, b, sizeof a) == 0);
  free(x);
}

TEST(subspace_mixture_chain_start_by_name_and_its_refusals) {
  const int64_t n = 40, D = 5000;
  float *x = two_clusters(n, D, 0.5, 0.05, 9, NULL);
  const char *path = test_path("c.npy");
  int64_t shape[2] = {n, D};
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 2, shape, x));
  char text[600];
  snprintf(text, sizeof text, "mixture:2:npy:%s", path);
  ebm_energy *named = NULL, *direct = NULL;
  REQUIRE_OK(ebm_chain_start_open(text, 0.0f, 1.0f, D, &named));
  REQUIRE_OK(ebm_subspace_mixture_fit(x, n, D, EBM_CHAIN_START_FIT_ITEMS, EBM_SUBSPACE_MIXTURE_RANK, 2, &direct));
  float *a = malloc(sizeof(float) * 2 * D), *b = malloc(sizeof(float) * 2 * D);
  REQUIRE(a && b);
  ebm_rng r1, r2;
  ebm_rng_init(&r1, 4);
  ebm_rng_init(&r2, 4);
  REQUIRE_OK(ebm_chain_start_draw(named, &r1, 2, D, 0.0f, 1.0f, a));
  REQUIRE_OK(ebm_chain_start_draw(direct, &r2, 2, D, 0.0f, 1.0f, b));
  CHECK(memcmp(a, b, sizeof(float) * 2 * D) == 0);
  float *given = malloc(sizeof(float) * D), *m = calloc((size_t)D, sizeof(float));
  REQUIRE(given && m);
  CHECK_FAILS_WITH(ebm_gaussian_energy_sample_given(named, &r1, 1, a, m, 1.0f, given), EBM_ERR_ARG,
                   "no draws given known values");
  ebm_energy *bad = NULL;
  snprintf(text, sizeof text, "mixture:0:npy:%s", path);
  CHECK_FAILS_WITH(ebm_chain_start_open(text, 0.0f, 1.0f, D, &bad), EBM_ERR_ARG, "mixture:K:SPEC");
  CHECK_FAILS_WITH(ebm_chain_start_open("mixture:3", 0.0f, 1.0f, D, &bad), EBM_ERR_ARG, "mixture:K:SPEC");
  snprintf(text, sizeof text, "mixture:30:npy:%s", path); /* 40 items cannot hold 30 components of 2 */
  CHECK_FAILS_WITH(ebm_chain_start_open(text, 0.0f, 1.0f, D, &bad), EBM_ERR_ARG, "needs at least 60 items (2 per component), there are 40");
  CHECK(bad == NULL);
  ebm_train_config *cfg = ebm_train_config_new("fresh");
  REQUIRE(cfg);
  char out[64];
  REQUIRE_OK(ebm_train_config_set(cfg, "init", "mixture:12"));
  CHECK_EQ_INT(cfg->chain_start, EBM_START_MIXTURE);
  CHECK_EQ_INT(cfg->start_components, 12);
  ebm_train_setting_text(cfg, ebm_train_setting_find("init"), out, sizeof out);
  CHECK_EQ_STR(out, "mixture:12");
  CHECK_FAILS_WITH(ebm_train_config_set(cfg, "init", "mixture:0"), EBM_ERR_ARG, "mixture:K");
  CHECK_FAILS_WITH(ebm_train_config_set(cfg, "init", "mixture:"), EBM_ERR_ARG, "mixture:K");
  CHECK_FAILS_WITH(ebm_train_config_set(cfg, "init", "mixture:4x"), EBM_ERR_ARG, "mixture:K");
  ebm_train_config_free(cfg);
  ebm_energy_free(named);
  ebm_energy_free(direct);
  free(a), free(b), free(given), free(m), free(x);
}
