/* Energies named by text (compose.h): one grammar for --ckpt, --energy and
 * --term — parsing, opening, class fixing, and the exact log Z of the
 * analytic energies against closed forms and numerical integration. */
#include "test.h"
#include "test_util.h"

#define CHECK_PARSE_FAILS(text, flags, needle)                                    \
  do {                                                                           \
    ebm_energy_spec s_;                                                          \
    CHECK(ebm_energy_spec_parse(text, flags, &s_) == EBM_ERR_ARG);               \
    CHECK_CONTAINS(ebm_last_error(), needle);                                    \
    ebm_energy_spec_free(&s_);                                                   \
  } while (0)

TEST(energy_spec_parses_sources_and_peels_options_from_the_right) {
  ebm_energy_spec s;
  REQUIRE_OK(ebm_energy_spec_parse("gaussian:3:mean=1,2,3:std=0.5", 0, &s));
  CHECK_EQ_INT(s.kind, EBM_SOURCE_GAUSSIAN);
  CHECK_EQ_INT(s.dim, 3);
  REQUIRE(s.mean != NULL);
  CHECK_NEAR(s.mean[2], 3.0, 0);
  CHECK_NEAR(s.std, 0.5, 0);
  ebm_energy_spec_free(&s);

  REQUIRE_OK(ebm_energy_spec_parse("gaussian:4:mean=-1", 0, &s));
  CHECK_NEAR(s.mean[3], -1.0, 0); /* one value: every coordinate */
  ebm_energy_spec_free(&s);

  /* a path may hold ':' — only key=value segments at the end are options */
  REQUIRE_OK(ebm_energy_spec_parse("runs/a:b/m.safetensors:class=3:weight=2:temp=0.5", EBM_SPEC_TERM, &s));
  CHECK_EQ_INT(s.kind, EBM_SOURCE_CKPT);
  CHECK(strcmp(s.path, "runs/a:b/m.safetensors") == 0);
  CHECK_EQ_INT(s.label, 3);
  CHECK_NEAR(s.weight, 2.0, 0);
  CHECK_NEAR(s.temperature, 0.5, 0);
  ebm_energy_spec_free(&s);

  REQUIRE_OK(ebm_energy_spec_parse("m.safetensors:range=-1,1:weight=0.5", EBM_SPEC_TERM, &s));
  CHECK(s.range_lo == -1.0f && s.range_hi == 1.0f);
  CHECK_NEAR(s.weight, 0.5, 0);
  ebm_energy_spec_free(&s);
  REQUIRE_OK(ebm_energy_spec_parse("m.safetensors", EBM_SPEC_TERM, &s));
  CHECK(s.range_lo == s.range_hi); /* not given: the model's own */
  ebm_energy_spec_free(&s);

  REQUIRE_OK(ebm_energy_spec_parse("toy:rings", 0, &s));
  CHECK_EQ_INT(s.kind, EBM_SOURCE_TOY);
  CHECK_EQ_INT(s.toy, EBM_TOY_RINGS);
  CHECK_EQ_INT(s.label, -1);
  ebm_energy_spec_free(&s);
}

TEST(energy_spec_errors_quote_the_spec_and_say_what_is_accepted) {
  CHECK_PARSE_FAILS("", 0, "empty energy spec");
  CHECK_PARSE_FAILS("toy:spiral", 0, "toy:spiral: unknown toy 'spiral'");
  CHECK_PARSE_FAILS("toy:checkerboard", 0, "no usable energy");
  CHECK_PARSE_FAILS("gaussian:0", 0, "gaussian:D needs a dimension D in 1..4096");
  CHECK_PARSE_FAILS("gaussian:2x", 0, "gaussian:D needs a dimension");
  CHECK_PARSE_FAILS("gaussian:3:mean=1,2", 0, "mean= has 2 values, expected 1 or 3");
  CHECK_PARSE_FAILS("gaussian:2:mean=1,x", 0, "mean= expects 1 or 2 comma-separated numbers");
  CHECK_PARSE_FAILS("gaussian:2:std=-1", 0, "std= must be > 0");
  CHECK_PARSE_FAILS("gaussian:2:std=nan", 0, "std= expects a finite number");
  CHECK_PARSE_FAILS("m.safetensors:weight=2", 0, "unknown option 'weight' (class, window, ends; mean, std");
  CHECK_PARSE_FAILS("m.safetensors:class=-1", 0, "class= expects a label >= 0");
  CHECK_PARSE_FAILS("m.safetensors:std=2", 0, "options of gaussian:D energies");
  CHECK_PARSE_FAILS("toy:moons:class=1", EBM_SPEC_TERM, "a toy has none");
  CHECK_PARSE_FAILS(":class=1", 0, "no checkpoint or energy before the options");
  CHECK_PARSE_FAILS("m.safetensors:range=0,1", 0, "unknown option 'range'");
  CHECK_PARSE_FAILS("m.safetensors:range=1,0", EBM_SPEC_TERM, "range= expects LO,HI with LO < HI");
  CHECK_PARSE_FAILS("m.safetensors:range=0", EBM_SPEC_TERM, "range= expects LO,HI");
  CHECK_PARSE_FAILS("m.safetensors:range=0,x", EBM_SPEC_TERM, "range= expects LO,HI");
  CHECK_PARSE_FAILS("m.safetensors:range=0,inf", EBM_SPEC_TERM, "range= expects LO,HI");
  CHECK_PARSE_FAILS("gaussian:2:range=0,1", EBM_SPEC_TERM, "a Gaussian has none");
}

/* The opened Gaussian is N(mean, S²): its energy at a point, its gradient
 * and its exact log Z (closed form on R^D). */
TEST(energy_source_opens_a_gaussian_with_mean_and_std) {
  ebm_energy_spec spec;
  REQUIRE_OK(ebm_energy_spec_parse("gaussian:2:mean=1,-1:std=2", 0, &spec));
  ebm_energy_source src;
  REQUIRE_OK(ebm_energy_source_open(&spec, 8, &src));
  CHECK(strcmp(src.energy->name, "gaussian:2:mean=1,-1:std=2") == 0); /* named by what it is */
  float x[2] = {3.0f, -1.0f}, e, g[2];
  REQUIRE_OK(ebm_energy_eval(src.energy, x, NULL, 1, &e, g));
  CHECK_NEAR(e, 4.0 / (2.0 * 4.0), 1e-6); /* |x − μ|² / 2S² */
  CHECK_NEAR(g[0], 2.0 / 4.0, 1e-6);
  CHECK_NEAR(g[1], 0.0, 1e-6);
  int known = 0;
  double lz = 0.0, expect = 0.0;
  ebm_energy_source_log_z(&src, 1.0, 0.0, 0.0, &known, &lz);
  CHECK_EQ_INT(known, 1);
  expect = 2.0 * (log(2.0) + 0.5 * log(2.0 * 3.14159265358979323846)); /* D·log(S·√(2π)) */
  CHECK_NEAR(lz, expect, 1e-12);
  /* at temperature T the law is N(μ, T·S²) */
  ebm_energy_source_log_z(&src, 3.0, 0.0, 0.0, &known, &lz);
  CHECK_NEAR(lz, 2.0 * (log(2.0 * sqrt(3.0)) + 0.5 * log(2.0 * 3.14159265358979323846)), 1e-12);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
}

/* On a box, log Z is the log of ∫ exp(−E) over the box: checked against a
 * midpoint rule per coordinate, including a box far in one tail where
 * Φ(b) − Φ(a) would cancel to 0 in double. */
TEST(energy_source_log_z_on_a_box_matches_quadrature) {
  ebm_energy_spec spec;
  REQUIRE_OK(ebm_energy_spec_parse("gaussian:2:mean=0.5,-3:std=0.7", 0, &spec));
  ebm_energy_source src;
  REQUIRE_OK(ebm_energy_source_open(&spec, 8, &src));
  const double boxes[3][2] = {{-1.0, 1.0}, {-4.0, 4.0}, {6.0, 7.0}};
  for (int b = 0; b < 3; b++) {
    const double lo = boxes[b][0], hi = boxes[b][1];
    double quad = 0.0;
    for (int d = 0; d < 2; d++) {
      const double m = d ? -3.0 : 0.5, s = 0.7 * sqrt(2.0); /* at T = 2 */
      const int cells = 200000;
      double sum = 0.0, h = (hi - lo) / cells, ref = 0.0, peak = -INFINITY;
      for (int k = 0; k < cells; k++) { /* log-sum-exp: the far box is ~1e-40 */
        double t = lo + (k + 0.5) * h, v = -(t - m) * (t - m) / (2.0 * s * s);
        peak = v > peak ? v : peak;
      }
      for (int k = 0; k < cells; k++) {
        double t = lo + (k + 0.5) * h;
        sum += exp(-(t - m) * (t - m) / (2.0 * s * s) - peak);
      }
      ref = peak + log(sum * h);
      quad += ref;
    }
    int known = 0;
    double lz = 0.0;
    ebm_energy_source_log_z(&src, 2.0, lo, hi, &known, &lz);
    CHECK_EQ_INT(known, 1);
    CHECK_NEAR(lz, quad, 1e-6 * fabs(quad) + 1e-7);
  }
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
}

/* Toys are normalised: log Z = 0 on R² and on any box holding [−4, 4]²,
 * unknown on a smaller box or at T ≠ 1; a checkpoint's log Z is unknown. */
TEST(energy_source_log_z_of_toys_and_checkpoints) {
  ebm_energy_spec spec;
  REQUIRE_OK(ebm_energy_spec_parse("toy:8gaussians", 0, &spec));
  ebm_energy_source src;
  REQUIRE_OK(ebm_energy_source_open(&spec, 8, &src));
  int known = 0;
  double lz = 1.0;
  ebm_energy_source_log_z(&src, 1.0, -4.0, 4.0, &known, &lz);
  CHECK(known == 1 && lz == 0.0);
  ebm_energy_source_log_z(&src, 1.0, -2.0, 2.0, &known, &lz);
  CHECK(known == 0 && isnan(lz));
  ebm_energy_source_log_z(&src, 0.5, 0.0, 0.0, &known, &lz);
  CHECK_EQ_INT(known, 0);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
}

/* A conditional checkpoint: without class= it stays conditional; with
 * class=Y it is E(x, Y) and unconditional; class out of range or on an
 * unconditional model is EBM_ERR_ARG naming the file. */
TEST(energy_source_fixes_the_class_of_a_conditional_checkpoint) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("mlp", 3, 2, &json));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, 4, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  REQUIRE_OK(ebm_net_init(net, &rng));
  const char *path = test_path("cond.safetensors");
  REQUIRE_OK(ebm_net_save(net, path, 0, NULL, NULL));

  char text[600];
  ebm_energy_spec spec;
  ebm_energy_source src;
  REQUIRE_OK(ebm_energy_spec_parse(path, 0, &spec));
  REQUIRE_OK(ebm_energy_source_open(&spec, 4, &src));
  CHECK_EQ_INT(src.energy->num_classes, 3);
  CHECK(strcmp(src.energy->name, path) == 0);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);

  snprintf(text, sizeof text, "%s:class=2", path);
  REQUIRE_OK(ebm_energy_spec_parse(text, 0, &spec));
  REQUIRE_OK(ebm_energy_source_open(&spec, 4, &src));
  CHECK_EQ_INT(src.energy->num_classes, 0);
  float x[2] = {0.3f, -0.2f}, e_fixed, e_net;
  int32_t y = 2;
  REQUIRE_OK(ebm_energy_eval(src.energy, x, NULL, 1, &e_fixed, NULL));
  REQUIRE_OK(ebm_net_energy(net, x, &(ebm_cond){.labels = &y}, 1, &e_net));
  CHECK(e_fixed == e_net);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);

  snprintf(text, sizeof text, "%s:class=3", path);
  REQUIRE_OK(ebm_energy_spec_parse(text, 0, &spec));
  CHECK(ebm_energy_source_open(&spec, 4, &src) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "class must be in 0..2, got 3");
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);

  REQUIRE_OK(ebm_energy_spec_parse(test_path("missing.safetensors"), 0, &spec));
  CHECK(ebm_energy_source_open(&spec, 4, &src) != EBM_OK);
  CHECK_CONTAINS(ebm_last_error(), "missing.safetensors");
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
  ebm_net_free(net);
  free(json);
}
