/* Two paths of one command naming the same file (issue 13, item 1): every
 * verb refuses, exit 2, naming both flags, and nothing is written. Paths are
 * compared by device and inode (symlinks, ./, hard links), and by directory
 * and name for outputs that do not exist yet. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

/* A 2-D mlp checkpoint and 5 points for it, in the test's directory. */
static void make_model_and_points(const char *m, const char *x) {
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 1 --out %s", m), 0, NULL);
  float v[10] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f, 1.0f};
  int64_t shape[2] = {5, 2};
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, v));
}

/* Copies a file's bytes, to show later that it was not touched. */
static uint8_t *snapshot(const char *path, size_t *size) {
  uint8_t *buf = NULL;
  REQUIRE_OK(ebm_read_file(path, (size_t)1 << 30, &buf, size));
  return buf;
}

static void check_unchanged(const char *path, const uint8_t *before, size_t size) {
  size_t now_size;
  uint8_t *now = snapshot(path, &now_size);
  CHECK(now_size == size && memcmp(now, before, size) == 0);
  free(now);
}

TEST(cli_energy_refuses_outputs_that_name_an_input_or_each_other) {
  char m[512], x[512];
  snprintf(m, sizeof m, "%s", test_path("m.safetensors"));
  snprintf(x, sizeof x, "%s", test_path("x.npy"));
  make_model_and_points(m, x);
  size_t msize, xsize;
  uint8_t *mb = snapshot(m, &msize), *xb = snapshot(x, &xsize);
  CLI_EXPECT(run_cli("energy --ckpt %s --input %s --out %s", m, x, m), 2,
         "--ckpt '");
  CLI_EXPECT(run_cli("energy --ckpt %s --input %s --out %s", m, x, m), 2,
         "are the same file (writing --out would overwrite it)");
  CLI_EXPECT(run_cli("energy --ckpt %s --input %s --out %s", m, x, x), 2, "--input '");
  CLI_EXPECT(run_cli("energy --ckpt %s --input %s --out e.npy --grad %s", m, x, m), 2, "and --grad '");
  /* by inode, not by spelling: ./, a symlink, a hard link */
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out ./m.safetensors"), 2, "--ckpt 'm.safetensors'");
  REQUIRE(symlink("m.safetensors", "alias.safetensors") == 0);
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out alias.safetensors"), 2,
         "--out 'alias.safetensors' are the same file");
  REQUIRE(link("x.npy", "hard.npy") == 0);
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out hard.npy"), 2, "are the same file");
  /* two outputs that do not exist yet, spelled differently */
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out e.npy --grad ./e.npy"), 2,
         "--out 'e.npy' and --grad './e.npy' are the same file");
  CHECK(access("e.npy", F_OK) != 0);
  check_unchanged(m, mb, msize);
  check_unchanged(x, xb, xsize);
  free(mb);
  free(xb);
  /* distinct files work, and /dev/null may take every output */
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out e.npy --grad g.npy"), 0, NULL);
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out /dev/null --grad /dev/null"), 0, NULL);
}

TEST(cli_every_writing_verb_refuses_two_paths_to_one_file) {
  char m[512], x[512];
  snprintf(m, sizeof m, "%s", test_path("m.safetensors"));
  snprintf(x, sizeof x, "%s", test_path("x.npy"));
  make_model_and_points(m, x);
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("sample --energy gaussian:2 --n 4 --out s.npy --png s.npy"), 2, "--out 's.npy' and --png 's.npy'");
  CLI_EXPECT(run_cli("sample --energy gaussian:2 --n 4 --out s.npy --chain ./s.npy"), 2, "and --chain './s.npy'");
  CLI_EXPECT(run_cli("sample --ckpt m.safetensors --n 4 --out m.safetensors"), 2, "--ckpt 'm.safetensors'");
  CLI_EXPECT(run_cli("sample --ckpt m.safetensors --n 4 --init npy:x.npy --out x.npy"), 2, "--init 'x.npy'");
  /* energy specs name their checkpoint before the options */
  CLI_EXPECT(run_cli("sample --energy m.safetensors --n 4 --out m.safetensors"), 2, "--energy 'm.safetensors'");
  CLI_EXPECT(run_cli("sample --ckpt ./m.safetensors:class=1 --n 4 --out m.safetensors"), 2,
         "--ckpt './m.safetensors' and --out 'm.safetensors' are the same file");
  /* an array over a checkpoint is refused by its kind first (cli/overwrite_guard.c) */
  CLI_EXPECT(run_cli("compose --term m.safetensors --n 4 --out m.safetensors"), 2, "holds a safetensors checkpoint");
  CLI_EXPECT(run_cli("compose --term toy:rings --not m.safetensors:weight=2 --n 4 --out m.safetensors"), 2,
         "holds a safetensors checkpoint");
  CLI_EXPECT(run_cli("compose --term toy:rings --not m.safetensors:weight=2 --n 4 --out ./m.safetensors"), 2,
         "holds a safetensors checkpoint");
  CLI_EXPECT(run_cli("data show npy:x.npy --out x.npy"), 2, "holds a .npy array; writing a PNG picture there");
  CLI_EXPECT(run_cli("data show toy:rings --out m.safetensors"), 2, "holds a safetensors checkpoint");
  CLI_EXPECT(run_cli("data show npy:x.npy --out x.png"), 0, NULL);
  CLI_EXPECT(run_cli("data show npy:x.npy --out x.png --first"), 0, NULL); /* its own earlier picture */
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --out m.safetensors --force"), 0, NULL);
  test_write_file("arch.json", "{\"layers\":[]}", 13);
  CLI_EXPECT(run_cli("init --arch-json arch.json --out arch.json"), 2, "--arch-json 'arch.json' and --out");
  CLI_EXPECT(run_cli("eval ood --ckpt m.safetensors --in npy:x.npy --json r.json --png r.json"), 2,
         "--json 'r.json' and --png 'r.json'");
  CLI_EXPECT(run_cli("eval ood --ckpt m.safetensors --in npy:x.npy --json x.npy"), 2, "--in 'x.npy'");
  CLI_EXPECT(run_cli("show density --ckpt m.safetensors --out m.safetensors"), 2, "--ckpt 'm.safetensors'");
  CLI_EXPECT(run_cli("classifier train --data npy:x.npy,y.npy --out y.npy"), 2, "--data 'y.npy' and --out 'y.npy'");
  CLI_EXPECT(run_cli("eval ais --ckpt m.safetensors --json m.safetensors"), 2, "--ckpt 'm.safetensors'");
  CLI_EXPECT(run_cli("eval classify --ckpt m.safetensors --data toy:rings --json m.safetensors"), 2, "--ckpt");
  CLI_EXPECT(run_cli("eval fid --samples x.npy --classifier c.st --json x.npy"), 2, "--samples 'x.npy'");
}

/* The image verbs, on a tiny image model. */
TEST(cli_image_verbs_refuse_an_output_over_their_input) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  const char *arch = "{\"input\":[1,4,4],\"range\":[0,1],\"layers\":[{\"type\":\"flatten\"},"
                     "{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  test_write_file("arch.json", arch, strlen(arch));
  cli_result r = run_cli("init --arch-json arch.json --out m.safetensors");
  if (r.code != 0) fprintf(stderr, "%s\n", r.err);
  REQUIRE(r.code == 0);
  cli_result_free(&r);
  float v[2 * 16];
  for (int i = 0; i < 32; i++) v[i] = (float)(i % 16) / 16.0f;
  int64_t shape[4] = {2, 1, 4, 4};
  REQUIRE_OK(ebm_npy_save("x.npy", EBM_DTYPE_F32, 4, shape, v));
  CLI_EXPECT(run_cli("denoise --ckpt m.safetensors --input x.npy --out y.npy --corrupted y.npy"), 2,
         "--out 'y.npy' and --corrupted 'y.npy'");
  CLI_EXPECT(run_cli("denoise --ckpt m.safetensors --input x.npy --out x.npy"), 2, "--input 'x.npy' and --out");
  CLI_EXPECT(run_cli("inpaint --ckpt m.safetensors --input x.npy --mask pattern:bottom-half --out y.npy --png y.npy"),
         2, "--out 'y.npy' and --png 'y.npy'");
  CLI_EXPECT(run_cli("inpaint --ckpt m.safetensors --input x.npy --mask x.npy --out x2.npy --png x.npy"), 2,
         "are the same file");
  CLI_EXPECT(run_cli("translate --ckpt m.safetensors --input x.npy --to-class 1 --out m.safetensors"), 2,
         "--ckpt 'm.safetensors'");
  CLI_EXPECT(run_cli("denoise --ckpt m.safetensors --input x.npy --steps 2 --out y.npy --corrupted c.npy"), 0, NULL);
}
