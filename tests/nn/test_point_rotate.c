/* point_rotate (a draft cloud turned by a rotation from two predicted
 * vectors, Gram–Schmidt) and point_grid's closed templates and head rows:
 * R orthonormal, values by hand, pairwise distances kept, gradients against
 * finite differences in double, the rotating presets, and the refusals. */
#include <math.h>

#include "nn/nn_testutil.h"
#include "ops/points.h"

TEST(rotation_from_two_vectors_is_orthonormal_with_det_one_and_e1_along_a) {
  ebm_rng rng;
  ebm_rng_init(&rng, 5300);
  for (int t = 0; t < 1000; t++) {
    float v[6];
    ebm_rng_uniform(&rng, v, 6, -1, 1);
    double a[3], b[3], r[9];
    for (int k = 0; k < 3; k++) a[k] = v[k], b[k] = v[3 + k];
    ebm_rotation_from_two_vectors(a, b, r);
    double worst = 0;
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) {
        const double d = r[3 * i] * r[3 * j] + r[3 * i + 1] * r[3 * j + 1] + r[3 * i + 2] * r[3 * j + 2];
        worst = fmax(worst, fabs(d - (i == j)));
      }
    const double det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) +
                       r[2] * (r[3] * r[7] - r[4] * r[6]);
    const double na = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    /* e1 = a/|a|; e3 ⟂ a and b (e2 lies in their plane) */
    double along = 0, off = 0;
    for (int k = 0; k < 3; k++) along = fmax(along, fabs(r[k] - a[k] / na));
    off = fabs(r[6] * a[0] + r[7] * a[1] + r[8] * a[2]) + fabs(r[6] * b[0] + r[7] * b[1] + r[8] * b[2]);
    if (worst > 1e-14 || fabs(det - 1) > 1e-14 || along > 1e-15 || off > 1e-14) {
      CHECK(worst <= 1e-14);
      CHECK_NEAR(det, 1.0, 1e-14);
      CHECK(along <= 1e-15 && off <= 1e-14);
      break;
    }
  }
}

TEST(point_rotate_turns_the_draft_by_the_rotation_of_its_first_two_rows) {
  /* a = (0, 2, 0), b = (−3, 1, 0): e1 = (0, 1, 0), e2 = (−1, 0, 0), e3 = (0, 0, 1), so a draft point
   * (x, y, z) goes to x·e1 + y·e2 + z·e3 = (−y, x, z): exact in float */
  ebm_net *net = nt_build("{\"input\":[1,5,3],\"layers\":[{\"type\":\"point_rotate\"}]}", 1, 5310);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[1], 3);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[2], 3);
  const float x[15] = {0, 2, 0, -3, 1, 0, 1, 0, 0, 0.25f, -0.5f, 0.75f, 0, 0, 1};
  const float want[9] = {0, 1, 0, 0.5f, 0.25f, 0.75f, 0, 0, 1};
  float y[9];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 1, y));
  for (int k = 0; k < 9; k++) CHECK(y[k] == want[k]);
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "3 points turned by the rotation of rows 0, 1");
  ebm_net_free(net);
}

TEST(point_rotate_keeps_every_pairwise_distance_of_the_draft) {
  enum { N = 4, P = 40 };
  ebm_net *net = nt_build("{\"input\":[1,42,3],\"layers\":[{\"type\":\"point_rotate\"}]}", N, 5320);
  float *x = nt_inputs(net, N, 5321), y[N * P * 3];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, N, y));
  double worst = 0, moved = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < P; j++) {
      const float *dj = x + (i * (P + 2) + 2 + j) * 3, *yj = y + (i * P + j) * 3;
      for (int k = 0; k < 3; k++) moved = fmax(moved, fabs((double)dj[k] - yj[k]));
      for (int m = 0; m < P; m++) {
        const float *dm = x + (i * (P + 2) + 2 + m) * 3, *ym = y + (i * P + m) * 3;
        double d0 = 0, d1 = 0;
        for (int k = 0; k < 3; k++) {
          d0 += ((double)dj[k] - dm[k]) * ((double)dj[k] - dm[k]);
          d1 += ((double)yj[k] - ym[k]) * ((double)yj[k] - ym[k]);
        }
        worst = fmax(worst, fabs(sqrt(d0) - sqrt(d1)));
      }
    }
  CHECK(worst < 1e-6); /* each output rounded once from double: a few float ulps */
  CHECK(moved > 0.1);  /* and the cloud did turn */
  ebm_free(x);
  ebm_net_free(net);
}

TEST(point_rotate_grads_match_fd_through_the_gram_schmidt) {
  /* The layer alone, on inputs whose a and b are far from parallel and not
   * short (checked, so the test is about the gradient, not a degenerate R). */
  enum { N = 3, P = 7 };
  ebm_net *net = nt_build("{\"input\":[1,9,3],\"layers\":[{\"type\":\"point_rotate\"}]}", N, 5330);
  float *x = nt_inputs(net, N, 5331);
  for (int i = 0; i < N; i++) {
    const float *a = x + i * (P + 2) * 3, *b = a + 3;
    const double na = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]), nb = sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
    const double cosab = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (na * nb);
    CHECK(na > 0.3 && nb > 0.3 && fabs(cosab) < 0.95);
  }
  ebm_free(x);
  CHECK(nt_check_output_input_grad(net, N, 5331) < NT_FD_TOL);
  ebm_net_free(net);
  /* Behind a linear map (parameter gradients through the rotation) */
  net = nt_build("{\"input\":[6],\"layers\":[{\"type\":\"linear\",\"name\":\"m\",\"out\":27},{\"type\":\"reshape\","
                 "\"shape\":[1,9,3]},{\"type\":\"tanh\"},{\"type\":\"point_rotate\"},{\"type\":\"point_linear\","
                 "\"name\":\"o\",\"out\":2}]}", N, 5332);
  nt_jitter(net, 0.3f, 5333);
  CHECK(nt_check_output_input_grad(net, N, 5334) < NT_FD_TOL);
  CHECK(nt_check_output_param_grad(net, N, 5335) < NT_FD_TOL);
  ebm_net_free(net);
}

TEST(point_rotate_refuses_what_is_not_two_vectors_and_a_cloud) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,2,3],\"layers\":[{\"type\":\"point_rotate\"}]}", 1, &net), EBM_ERR_ARG,
                   "layer 0 (point_rotate) needs 1×(P+2)×3 — rows 0 and 1 the rotation's two vectors a, b, then P ≥ 1 points — "
                   "got [1,2,3]");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,9,4],\"layers\":[{\"type\":\"point_rotate\"}]}", 1, &net), EBM_ERR_ARG,
                   "got [1,9,4]");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[27],\"layers\":[{\"type\":\"point_rotate\"}]}", 1, &net), EBM_ERR_ARG,
                   "needs 1×(P+2)×3");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[2,9,3],\"layers\":[{\"type\":\"point_rotate\"}]}", 1, &net), EBM_ERR_ARG,
                   "got [2,9,3]");
  CHECK(net == NULL);
}

/* Row j of one item of a point_grid output of f numbers a row. */
static const float *grid_row(const float *y, int64_t f, int64_t j) { return y + j * f; }

TEST(point_grid_sphere_and_torus_templates_by_hand) {
  enum { C = 2 };
  ebm_net *net = nt_build("{\"input\":[2],\"layers\":[{\"type\":\"point_grid\",\"points\":4,\"template\":\"sphere\"}]}", 1,
                          5340);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[1], 4);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[2], C + 3);
  const float code[C] = {0.5f, -0.25f};
  float y[4 * (C + 3)];
  REQUIRE_OK(ebm_net_forward(net, code, NULL, 1, y));
  /* z_j = 1 − (2j+1)/4, φ_j = j·π(3 − √5); point 0 at φ = 0 */
  CHECK(y[2] == (float)sqrt(1 - 0.5625) && y[3] == 0.0f && y[4] == 0.75f);
  const double golden = 3.14159265358979323846 * (3 - sqrt(5.0));
  for (int j = 0; j < 4; j++) {
    const float *r = grid_row(y, C + 3, j);
    const double z = 1 - (2.0 * j + 1) / 4, rho = sqrt(1 - z * z);
    CHECK(r[0] == 0.5f && r[1] == -0.25f);
    CHECK_NEAR(r[2], rho * cos(j * golden), 1e-7);
    CHECK_NEAR(r[3], rho * sin(j * golden), 1e-7);
    CHECK_NEAR(r[4], z, 1e-7);
    CHECK_NEAR(r[2] * r[2] + r[3] * r[3] + r[4] * r[4], 1.0, 1e-6);
  }
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "2 features + 4 points on the unit sphere");
  ebm_net_free(net);
  /* the torus: 6 points, a 2×3 grid of angles (u = π·row, v = 2π·col/3) */
  net = nt_build("{\"input\":[2],\"layers\":[{\"type\":\"point_grid\",\"points\":6,\"template\":\"torus\"}]}", 1, 5341);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[2], C + 4);
  float t[6 * (C + 4)];
  REQUIRE_OK(ebm_net_forward(net, code, NULL, 1, t));
  const float *r0 = grid_row(t, C + 4, 0), *r4 = grid_row(t, C + 4, 4);
  CHECK(r0[2] == 1 && r0[3] == 0 && r0[4] == 1 && r0[5] == 0);
  CHECK_NEAR(r4[2], -1, 1e-7);
  CHECK_NEAR(r4[3], 0, 1e-7);
  CHECK_NEAR(r4[4], -0.5, 1e-7);
  CHECK_NEAR(r4[5], sqrt(3.0) / 2, 1e-7);
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "2 features + a 2x3 torus (cos u, sin u, cos v, sin v)");
  ebm_net_free(net);
}

TEST(point_grid_head_rows_carry_the_code_and_a_one_hot_before_the_template) {
  enum { C = 3, H = 2, P = 6, F = C + 2 + H };
  ebm_net *net = nt_build("{\"input\":[3],\"layers\":[{\"type\":\"point_grid\",\"points\":6,\"heads\":2}]}", 2, 5350);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[1], H + P);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[2], F);
  float *x = nt_inputs(net, 2, 5351), y[2 * (H + P) * F];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 2, y));
  static const float u[P][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {1, -1}, {1, 0}, {1, 1}};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < H + P; j++) {
      const float *r = y + (i * (H + P) + j) * F;
      CHECK(memcmp(r, x + i * C, C * sizeof(float)) == 0);
      if (j < H) CHECK(r[C] == 0 && r[C + 1] == 0 && r[C + 2] == (j == 0) && r[C + 3] == (j == 1));
      else CHECK(r[C] == u[j - H][0] && r[C + 1] == u[j - H][1] && r[C + 2] == 0 && r[C + 3] == 0);
    }
  ebm_free(x);
  ebm_net_free(net);
}

TEST(point_grid_closed_templates_with_heads_grads_match_fd) {
  /* code → sphere template + 2 heads → shared maps → tanh → point_rotate */
  ebm_net *net = nt_build("{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"c\",\"out\":5},{\"type\":\"swish\"},"
                          "{\"type\":\"point_grid\",\"points\":10,\"template\":\"sphere\",\"heads\":2},{\"type\":\"point_linear\","
                          "\"name\":\"a\",\"out\":6},{\"type\":\"swish\"},{\"type\":\"point_linear\",\"name\":\"b\",\"out\":3},"
                          "{\"type\":\"tanh\"},{\"type\":\"point_rotate\"}]}", 3, 5360);
  nt_jitter(net, 0.3f, 5361);
  CHECK(nt_check_output_input_grad(net, 3, 5362) < NT_FD_TOL);
  CHECK(nt_check_output_param_grad(net, 3, 5363) < NT_FD_TOL);
  ebm_net_free(net);
  net = nt_build("{\"input\":[4],\"layers\":[{\"type\":\"point_grid\",\"points\":12,\"template\":\"torus\"},"
                 "{\"type\":\"point_linear\",\"name\":\"a\",\"out\":3},{\"type\":\"tanh\"}]}", 3, 5364);
  nt_jitter(net, 0.3f, 5365);
  CHECK(nt_check_output_input_grad(net, 3, 5366) < NT_FD_TOL);
  CHECK(nt_check_output_param_grad(net, 3, 5367) < NT_FD_TOL);
  ebm_net_free(net);
}

TEST(point_grid_writes_template_and_heads_only_when_not_the_default) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("point-folding-generator", 0, 0, &json));
  CHECK(strstr(json, "template") == NULL && strstr(json, "heads") == NULL); /* the earlier preset's JSON, unchanged */
  free(json);
  ebm_net *net = nt_build("{\"preset\":\"point-folding-generator\",\"template\":\"torus\",\"rotate\":true}", 1, 5370);
  CHECK_CONTAINS(ebm_net_arch_json(net), "\"template\":\"torus\"");
  CHECK_CONTAINS(ebm_net_arch_json(net), "\"heads\":2");
  ebm_net_free(net);
  net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[3],\"layers\":[{\"type\":\"point_grid\",\"points\":4,\"template\":\"cube\"}]}",
                               1, &net), EBM_ERR_ARG, "layer 0 (point_grid): 'template' must be \"square\", \"sphere\" or \"torus\"");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[3],\"layers\":[{\"type\":\"point_grid\",\"points\":4,\"heads\":9}]}", 1, &net),
                   EBM_ERR_ARG, "heads");
  CHECK(net == NULL);
}

/* Clouds of a rotating generator preset: shape, layers, outputs finite. */
static void check_rotating_preset(const char *json, int layers, int grid_rows_out) {
  ebm_net *net = nt_build(json, 3, 5380);
  CHECK_EQ_INT(ebm_net_layer_count(net), layers);
  nt_check_layer(net, layers - 1, "point_rotate", 1, 128, 3, 0);
  if (grid_rows_out) nt_check_layer(net, 2, "point_grid", 1, grid_rows_out, 128 + 3 + 2, 0);
  enum { N = 3, ITEM = 128 * 3 };
  float *z = nt_inputs(net, N, 5381), clouds[N * ITEM];
  REQUIRE_OK(ebm_net_forward(net, z, NULL, N, clouds));
  int finite = 1, distinct = 0;
  for (int k = 0; k < N * ITEM; k++) finite &= isfinite(clouds[k]) && fabsf(clouds[k]) < 1.7321f; /* |tanh draft| < √3 */
  CHECK(finite);
  for (int p = 1; p < 128; p++) distinct += memcmp(clouds, clouds + 3 * p, 3 * sizeof(float)) != 0;
  CHECK_EQ_INT(distinct, 127);
  ebm_free(z);
  ebm_net_free(net);
}

TEST(rotating_point_generators_end_in_point_rotate) {
  check_rotating_preset("{\"preset\":\"point-generator\",\"rotate\":true}", 8, 0);
  check_rotating_preset("{\"preset\":\"point-folding-generator\",\"template\":\"sphere\",\"rotate\":true}", 10, 130);
  ebm_net *net = nt_build("{\"preset\":\"point-generator\",\"rotate\":true}", 1, 5382);
  nt_check_layer(net, 4, "linear", 390, 0, 0, 256 * 390 + 390);
  nt_check_layer(net, 5, "reshape", 1, 130, 3, 0);
  ebm_net_free(net);
  /* the torus template without rotation: 4 template numbers a point */
  net = nt_build("{\"preset\":\"point-folding-generator\",\"template\":\"torus\",\"width\":16,\"shape\":[1,40,3]}", 1, 5383);
  nt_check_layer(net, 2, "point_grid", 1, 40, 20, 0);
  CHECK_EQ_INT(ebm_net_layer_count(net), 9);
  ebm_net_free(net);
  net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"pointnet\",\"rotate\":true}", 1, &net), EBM_ERR_ARG,
                   "preset 'pointnet' takes no rotate; rotate is only for 'point-generator' and 'point-folding-generator'");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"point-generator\",\"template\":\"sphere\"}", 1, &net), EBM_ERR_ARG,
                   "preset 'point-generator' takes no template; template is only for 'point-folding-generator'");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"point-folding-generator\",\"template\":\"cube\"}", 1, &net), EBM_ERR_ARG,
                   "architecture: top level: 'template' must be \"square\", \"sphere\" or \"torus\"");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"point-generator\",\"rotate\":1}", 1, &net), EBM_ERR_ARG,
                   "'rotate' must be true or false");
  CHECK(net == NULL);
}
