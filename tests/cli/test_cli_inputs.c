/* Inputs that used to give wrong answers without a word, or errors that
 * blamed the wrong thing (issue 13, items 7, 8, 12, 14). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

/* n points of 2-D data in [lo, hi] (both ends reached). */
static void save_points(const char *path, int64_t n, float lo, float hi) {
  float *v = malloc((size_t)n * 2 * sizeof *v);
  REQUIRE(v);
  for (int64_t i = 0; i < 2 * n; i++) v[i] = lo + (hi - lo) * (float)(i % 11) / 10.0f;
  int64_t shape[2] = {n, 2};
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 2, shape, v));
  free(v);
}

TEST(cli_data_outside_the_range_is_named_with_the_flag_that_fixes_it) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  save_points("wide.npy", 64, -2.5f, 2.4f);
  cli_result r = run_cli("data stats npy:wide.npy");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "ebm data stats: warning: npy:wide.npy has values in [-2.5, 2.4], outside the range [0, 1]; "
                        "pass --range -3,3 (or rescale the data)");
  cli_result_free(&r);
  r = run_cli("data stats npy:wide.npy --range -3,3");
  CHECK_EQ_INT(r.code, 0);
  CHECK(!strstr(r.err, "warning"));
  cli_result_free(&r);
  /* the image recipe's [0, 1] on purpose; the default (vectors) recipe takes its range from the data */
  r = run_cli("train --data npy:wide.npy --arch mlp --width 8 --batch 8 --steps 1 --iters 1 --preset igebm --out run");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "ebm train: warning: npy:wide.npy has values in [-2.5, 2.4], outside the range [0, 1]; pass "
                        "--range -3,3");
  cli_result_free(&r);
  r = run_cli("train --data npy:wide.npy --arch mlp --width 8 --batch 8 --steps 1 --iters 1 --out run3");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "recipe vectors");
  CHECK(!strstr(r.err, "warning"));
  cli_result_free(&r);
  r = run_cli("train --data npy:wide.npy --arch mlp --width 8 --batch 8 --steps 1 --iters 1 --range -3,3 --out run2");
  CHECK_EQ_INT(r.code, 0);
  CHECK(!strstr(r.err, "warning"));
  cli_result_free(&r);
}

/* An image model in [0, 1] on 4x4 images, and two images of it. */
static void tiny_image_model(void) {
  const char *arch = "{\"input\":[1,4,4],\"range\":[0,1],\"layers\":[{\"type\":\"flatten\"},"
                     "{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  test_write_file("arch.json", arch, strlen(arch));
  CLI_EXPECT(run_cli("init --arch-json arch.json --out m.safetensors"), 0, NULL);
}

static void save_images(const char *path, float scale, float first) {
  float v[2 * 16];
  for (int i = 0; i < 32; i++) v[i] = scale * (float)(i % 16) / 16.0f;
  v[0] = first;
  int64_t shape[4] = {2, 1, 4, 4};
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 4, shape, v));
}

TEST(cli_inputs_outside_the_models_range_are_warned_about) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  tiny_image_model();
  save_images("x100.npy", 100.0f, 0.0f);
  cli_result r = run_cli("denoise --ckpt m.safetensors --input x100.npy --steps 1 --out y.npy");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "ebm denoise: warning: --input has values in [0, 93.75], outside the range [0, 1]; "
                        "rescale it to the model's range");
  cli_result_free(&r);
  r = run_cli("sample --ckpt m.safetensors --n 2 --steps 1 --init npy:x100.npy --out s.npy");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "ebm sample: warning: npy:x100.npy has values in [0, 93.75]");
  cli_result_free(&r);
  save_images("x.npy", 1.0f, 0.0f);
  r = run_cli("inpaint --ckpt m.safetensors --input x.npy --mask pattern:bottom-half --steps 1 --out y.npy");
  CHECK_EQ_INT(r.code, 0);
  CHECK(!strstr(r.err, "warning"));
  cli_result_free(&r);
  /* a missing file is named by its flag */
  CLI_EXPECT(run_cli("inpaint --ckpt m.safetensors --input x.npy --mask garbage --out y.npy"), 1,
         "ebm: --mask: garbage: cannot open");
  CLI_EXPECT(run_cli("denoise --ckpt m.safetensors --input nothere.npy --out y.npy"), 1,
         "ebm: --input: nothere.npy: cannot open");
}

/* NaN in --init is named as such (it used to blame the step size). */
TEST(cli_sample_init_with_nan_names_the_value) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  tiny_image_model();
  save_images("nan.npy", 1.0f, NAN);
  CLI_EXPECT(run_cli("sample --ckpt m.safetensors --n 2 --init npy:nan.npy --out s.npy"), 1,
         "--init npy:nan.npy: value 0 is nan");
  struct stat st;
  CHECK(stat("s.npy", &st) != 0);
}

TEST(cli_data_show_of_fewer_than_64_images_shows_them_all) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  uint8_t px[50 * 8 * 8];
  for (int i = 0; i < 50 * 64; i++) px[i] = (uint8_t)(i * 7);
  int64_t shape[4] = {50, 1, 8, 8};
  REQUIRE_OK(ebm_npy_save("fifty.npy", EBM_DTYPE_U8, 4, shape, px));
  cli_result r = run_cli("data show npy:fifty.npy --out grid.png");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "wrote grid.png: 50 images of npy:fifty.npy");
  cli_result_free(&r);
  CLI_EXPECT(run_cli("data show npy:fifty.npy --n 51 --out grid.png"), 2, "--n 51 is more than the 50 images");
}

TEST(cli_eval_ood_defaults_fit_a_2d_model) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --out m.safetensors"), 0, NULL);
  cli_result r = run_cli("eval ood --ckpt m.safetensors --in toy:rings:test:200 --n 200");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "noise:uniform");
  CHECK_CONTAINS(r.out, "invert:toy:rings:test:200");
  CHECK(!strstr(r.out, "flip:"));
  cli_result_free(&r);
}

/* `ebm info` names what a file is when it is not a model checkpoint. */
TEST(cli_info_says_what_kind_of_file_it_was_given) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  float v[4] = {1, 2, 3, 4};
  int64_t shape[1] = {4};
  REQUIRE_OK(ebm_npy_save("a.npy", EBM_DTYPE_F32, 1, shape, v));
  CLI_EXPECT(run_cli("info a.npy"), 1, "a.npy: is an .npy array, not a checkpoint");
  CLI_EXPECT(run_cli("data show toy:rings --out p.png"), 0, NULL);
  CLI_EXPECT(run_cli("info p.png"), 1, "p.png: not a safetensors file: it is a PNG image");
  /* Every reader names a file of another kind, not the bytes it misread. */
  CLI_EXPECT(run_cli("sample --ckpt p.png --out s.npy"), 1, "p.png: not a safetensors file: it is a PNG image");
  CLI_EXPECT(run_cli("train --data npy:p.png --arch mlp --out r2"), 1, "p.png: not a .npy file: it is a PNG image");
  FILE *f = fopen("m.pt", "wb");
  REQUIRE(f);
  fputs("PK\x03\x04 a zip archive's first bytes", f);
  fclose(f);
  CLI_EXPECT(run_cli("info m.pt"), 1, "m.pt: not a safetensors file: it is a zip archive (a PyTorch .pt file?");
  REQUIRE((f = fopen("c.json", "wb")) != NULL);
  fputs("\n  {\"step\": 1}\n", f);
  fclose(f);
  CLI_EXPECT(run_cli("sample --ckpt c.json --out s.npy"), 1, "c.json: not a safetensors file: it is JSON text");
  CLI_EXPECT(run_cli("train --data toy:rings:train:100 --arch mlp --width 8 --batch 8 --steps 1 --iters 1 --out run"), 0,
         NULL);
  CLI_EXPECT(run_cli("info run/ckpt/last.state.safetensors"), 1, "is a training state file");
  /* a run directory stands for its latest model, wherever a checkpoint is asked for */
  cli_result r = run_cli("info run");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "run/ckpt/last.safetensors: mlp");
  cli_result_free(&r);
  r = run_cli("sample --ckpt run/ --n 2 --steps 1 --out two.npy");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "of run/ckpt/last.safetensors");
  cli_result_free(&r);
  CLI_EXPECT(run_cli("sample --ckpt run --n 2 --out run/ckpt/last.safetensors"), 2,
             "--ckpt 'run/ckpt/last.safetensors' and --out 'run/ckpt/last.safetensors' are the same file");
  REQUIRE(mkdir("notarun", 0755) == 0);
  CLI_EXPECT(run_cli("info notarun"), 1, "notarun: is a directory, not a file");
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w);
  float x = 1;
  int64_t one = 1;
  REQUIRE_OK(ebm_st_writer_add_f32(w, "w", 1, &one, &x));
  REQUIRE_OK(ebm_st_writer_meta(w, "format", EBM_CLASSIFIER_FORMAT_V1));
  REQUIRE_OK(ebm_st_writer_save(w, "clf.safetensors"));
  ebm_st_writer_free(w);
  CLI_EXPECT(run_cli("info clf.safetensors"), 1, "is an evaluation classifier in the first format");
  CLI_EXPECT(run_cli("info /dev/zero"), 1, "/dev/zero: header length 0: not a safetensors file");
  CLI_EXPECT(run_cli("data stats npy:/dev/zero"), 1, "/dev/zero: not a .npy file");
}

/* A hand-edited state with a negative step says so (not "missing"). */
TEST(cli_resume_of_a_state_with_a_negative_step_names_the_value) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("train --data toy:rings:train:100 --arch mlp --width 8 --batch 8 --steps 1 --iters 2 --out run"), 0,
         NULL);
  const char *path = "run/ckpt/last.state.safetensors";
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  ebm_st_writer *w = ebm_st_writer_new();
  for (int i = 0; i < ebm_safetensors_count(st); i++) {
    const ebm_st_tensor *t = ebm_safetensors_at(st, i);
    REQUIRE_OK(ebm_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data));
  }
  for (int i = 0; i < ebm_safetensors_meta_count(st); i++) {
    const char *k, *v;
    ebm_safetensors_meta_at(st, i, &k, &v);
    REQUIRE_OK(ebm_st_writer_meta(w, k, strcmp(k, "step") == 0 ? "-3" : v));
  }
  REQUIRE_OK(ebm_st_writer_save(w, path));
  ebm_st_writer_free(w);
  ebm_safetensors_free(st);
  CLI_EXPECT(run_cli("train --out run --resume --iters 5"), 1, "metadata 'step' is not a count: '-3'");
}

/* A hand-edited config.json with a count no integer holds is refused on
 * resume, naming the file and the setting (it was cast to int64: undefined). */
TEST(cli_resume_of_a_config_with_a_count_out_of_range_names_it) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("train --data toy:rings:train:100 --arch mlp --width 8 --batch 8 --steps 1 --iters 2 --out run"), 0,
             NULL);
  char *text = test_read_text("run/config.json");
  REQUIRE(text);
  const char *key = "\"log-every\":";
  char *at = strstr(text, key), edited[1 << 16];
  REQUIRE(at && strlen(text) + 16 < sizeof edited);
  at += strlen(key);
  const char *rest = strchr(at, ',');
  REQUIRE(rest);
  snprintf(edited, sizeof edited, "%.*s 1e30%s", (int)(at - text), text, rest);
  test_write_file("run/config.json", edited, strlen(edited));
  CLI_EXPECT(run_cli("train --out run --resume --iters 5"), 1,
             "run/config.json: 'log-every' has the wrong type (or is a number out of its range)");
  free(text);
}

/* A path longer than the error line: the reason survives, the path is cut. */
TEST(cli_error_with_a_very_long_path_keeps_its_reason) {
  char path[1500];
  size_t n = 0;
  while (n < 1300) n += (size_t)snprintf(path + n, sizeof path - n, "directory_%04zu/", n);
  snprintf(path + n, sizeof path - n, "model.safetensors");
  cli_result r = run_cli("info %s", path);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "model.safetensors: cannot open: No such file or directory");
  CHECK_CONTAINS(r.err, "ebm: directory_0000/");
  cli_result_free(&r);
}

/* The longest name a file may have is a valid --out. */
TEST(cli_output_with_the_longest_file_name_is_written) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  char name[256];
  memset(name, 'o', 251);
  strcpy(name + 251, ".npy");
  cli_result r = run_cli("sample --energy gaussian:2 --n 4 --steps 2 --out %s", name);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_npy a;
  CHECK_OK(ebm_npy_load(name, &a));
  ebm_npy_free(&a);
}
