/* `ebm plan`: a plan from a trained transition energy, the --eval
 * benchmark, and bad input (a horizon of 0, a start inside an obstacle). */
#include "test.h"
#include "test_util.h"

/* A tiny transition energy trained for 2 steps on particle data. */
static const char *tiny_transition_model(void) {
  static char ckpt[600];
  char data[512], run[512];
  snprintf(data, sizeof data, "%s", test_path("particle.npy"));
  snprintf(run, sizeof run, "%s", test_path("run"));
  cli_result r = run_cli("data make particle --n 20 --steps 20 --out %s", data);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --data npy:%s --arch mlp --width 16 --batch 16 --iters 2 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  return ckpt;
}

TEST(cli_plan_writes_a_plan_inside_the_world_and_a_picture) {
  const char *ckpt = tiny_transition_model();
  cli_result r = run_cli("plan --ckpt %s --start -0.8,-0.8 --goal 0.8,0.7 --horizon 12 --out %s --png %s", ckpt,
                         test_path("plan.npy"), test_path("plan.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "1 plan, horizon 12, 10 Langevin steps");
  CHECK_CONTAINS(r.out, "straight line");
  cli_result_free(&r);
  ebm_npy p;
  test_load_f32(test_path("plan.npy"), &p);
  REQUIRE(p.ndim == 2 && p.shape[0] == 12 && p.shape[1] == 2);
  for (int k = 0; k < 24; k++) CHECK(((float *)p.data)[k] >= -1.0f && ((float *)p.data)[k] <= 1.0f);
  ebm_npy_free(&p);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(test_path("plan.png"), &w, &h, &c, &px));
  CHECK(w == 500 && h == 500 && c == 3);
  free(px);
  r = run_cli("plan --ckpt %s --eval 6 --horizon 30 --steps 3", ckpt);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "6 plans, horizon 30, 3 Langevin steps");
  CHECK_CONTAINS(r.out, "  EBM           success ");
  CHECK_CONTAINS(r.out, "/6 = ");
  CHECK_CONTAINS(r.out, "  candidates    a success among the 16 in ");
  CHECK_CONTAINS(r.out, "/6 tasks (what choosing by the energy could score)");
  CHECK_CONTAINS(r.out, "  energy        transitions (s, s + (0.03, 0)) inside the obstacles ");
  cli_result_free(&r);
}

TEST(cli_plan_refuses_a_zero_horizon_and_bad_points_in_one_line) {
  cli_result r = run_cli("plan --ckpt m.safetensors --start 0.8,0.8 --goal -0.8,-0.8 --horizon 0");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "ebm plan: --horizon must be in 1..1000, got 0");
  cli_result_free(&r);
  r = run_cli("plan --ckpt m.safetensors --start 0.05,0 --goal -0.8,-0.8");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--start 0.05,0 is outside [-1, 1]^2 or inside an obstacle");
  cli_result_free(&r);
  r = run_cli("plan --ckpt m.safetensors --start 0.8 --goal -0.8,-0.8");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--start expects X,Y (two numbers), got '0.8'");
  cli_result_free(&r);
  r = run_cli("plan --ckpt %s --eval 3", test_path("missing.safetensors"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "missing.safetensors");
  cli_result_free(&r);
}
