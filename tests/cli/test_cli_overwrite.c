/* cli/overwrite_guard.c: an output never destroys a file that is not an
 * earlier output of the same kind (notes, a checkpoint under an array's
 * name, a trained model under `ebm init`), and re-running a command over
 * its own output still works. Each refusal leaves the file byte for byte. */
#include <unistd.h>

#include "test_util.h"

static const char notes[] = "my notes: the lr 5e-4 run diverged at step 900\n";

/* Runs args, expects exit 2 with `needle` on stderr, and `path` unchanged
 * (compared with the copy made before). */
static void check_refused_and_kept(const char *args, const char *path, const char *needle) {
  uint8_t *data = NULL;
  size_t size = 0;
  REQUIRE_OK(ebm_read_file(path, (size_t)1 << 26, &data, &size));
  test_write_file("kept.copy", data, size);
  free(data);
  CLI_EXPECT(run_cli("%s", args), 2, needle);
  CHECK(test_same_file(path, "kept.copy"));
}

static void make_inputs(void) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 1 --out m.safetensors"), 0, NULL);
  float v[8] = {0.1f, 0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f};
  int64_t shape[2] = {4, 2};
  REQUIRE_OK(ebm_npy_save("x.npy", EBM_DTYPE_F32, 2, shape, v));
  test_write_file("notes.txt", notes, sizeof notes - 1);
}

TEST(cli_an_output_never_replaces_a_file_ebm_did_not_write) {
  make_inputs();
  check_refused_and_kept("energy --ckpt m.safetensors --input x.npy --out notes.txt", "notes.txt",
                         "--out 'notes.txt' exists and is not a file ebm writes");
  check_refused_and_kept("sample --ckpt m.safetensors --n 2 --steps 1 --out x2.npy --png notes.txt", "notes.txt",
                         "refusing to overwrite it");
  check_refused_and_kept("eval ais --energy gaussian:2 --chains 8 --steps 4 --json notes.txt", "notes.txt",
                         "--json 'notes.txt' exists");
}

TEST(cli_an_output_never_replaces_a_file_of_another_kind) {
  make_inputs();
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 3 --out other.safetensors"), 0, NULL);
  check_refused_and_kept("energy --ckpt m.safetensors --input x.npy --out new.safetensors --grad other.safetensors",
                         "other.safetensors", "holds a safetensors checkpoint; writing a .npy array there");
  CLI_EXPECT(run_cli("data show toy:rings --out p.png"), 0, NULL);
  check_refused_and_kept("forward --ckpt m.safetensors --input x.npy --out p.png", "p.png",
                         "--out 'p.png' exists and holds a PNG picture");
  /* an option whose metavar names no kind takes the kind from the path */
  check_refused_and_kept("eval ais --energy gaussian:2 --chains 8 --steps 4 --json x.json --png x.npy", "x.npy",
                         "holds a .npy array; writing a PNG picture there");
}

TEST(cli_a_checkpoint_is_replaced_only_with_force) {
  make_inputs();
  check_refused_and_kept("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 2 --out m.safetensors",
                         "m.safetensors", "holds a checkpoint already; pass --force");
  check_refused_and_kept("classifier train --data toy:8gaussians --out m.safetensors", "m.safetensors",
                         "pass --force to replace it");
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 2 --out m.safetensors --force"), 0, NULL);
  CHECK(!test_same_file("m.safetensors", "kept.copy")); /* seed 2's weights replaced seed 1's */
}

/* ebm reads JSON too: a results object (--json) must not replace an
 * architecture, a run's config.json or its metrics/events (JSON Lines, even
 * a run's first line), while another results object is fine. */
TEST(cli_results_json_never_replaces_json_that_ebm_reads) {
  make_inputs();
  static const char arch[] = "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"out\": 1}]}\n";
  test_write_file("arch.json", arch, sizeof arch - 1);
  check_refused_and_kept("eval ais --energy gaussian:2 --chains 8 --steps 4 --json arch.json", "arch.json",
                         "holds a network architecture");
  CLI_EXPECT(run_cli("train --data toy:8gaussians --arch mlp --iters 2 --batch 8 --buffer 16 --steps 2 --seed 1 "
                     "--out run"),
             0, NULL);
  check_refused_and_kept("eval ais --energy gaussian:2 --chains 8 --steps 4 --json run/config.json", "run/config.json",
                         "holds a training run's configuration");
  check_refused_and_kept("eval ais --energy gaussian:2 --chains 8 --steps 4 --json run/metrics.jsonl",
                         "run/metrics.jsonl", "holds a run's metrics or events");
  static const char one_line[] = "{\"step\": 0, \"event\": \"start\", \"detail\": null}\n";
  test_write_file("events.jsonl", one_line, sizeof one_line - 1);
  check_refused_and_kept("eval ais --energy gaussian:2 --chains 8 --steps 4 --json events.jsonl", "events.jsonl",
                         "holds a run's metrics or events");
  /* a results object of another verb may be replaced */
  static const char fid[] = "{\"samples\": \"s.npy\", \"fd\": 12.5}\n";
  test_write_file("r.json", fid, sizeof fid - 1);
  CLI_EXPECT(run_cli("eval ais --energy gaussian:2 --chains 8 --steps 4 --json r.json"), 0, NULL);
  CHECK(!test_same_file("r.json", "kept.copy"));
}

TEST(cli_an_output_still_replaces_its_own_earlier_output) {
  make_inputs();
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out e.npy"), 0, NULL);
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out e.npy"), 0, NULL);
  CLI_EXPECT(run_cli("eval ais --energy gaussian:2 --chains 8 --steps 4 --json r.json"), 0, NULL);
  CLI_EXPECT(run_cli("eval ais --energy gaussian:2 --chains 8 --steps 4 --json r.json"), 0, NULL);
  /* nothing to lose: an empty file, and /dev/null */
  test_write_file("empty.npy", "", 0);
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out empty.npy"), 0, NULL);
  CLI_EXPECT(run_cli("energy --ckpt m.safetensors --input x.npy --out /dev/null"), 0, NULL);
}
