/* CLI of continual learning: `ebm train --method ebc --continual split:K`
 * writes each task's held-out accuracy into metrics.jsonl at the task's
 * end; a split that does not divide the classes, a malformed split, data
 * without labels and --continual with hidden labels on jem are refused
 * with one line. */
#include "test_util.h"

#define EBC_ARCH                                                                                       \
  "'{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 16}, "        \
  "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 8}]}'"
#define EBC_RUN "train --data toy:8gaussians:train:300 --arch " EBC_ARCH " --method ebc --batch 16 --seed 3"

static void expect(cli_result r, int code, const char *out_part, const char *err_part) {
  CHECK_EQ_INT(r.code, code);
  if (out_part) CHECK_CONTAINS(r.out, out_part);
  if (err_part) CHECK_CONTAINS(r.err, err_part);
  cli_result_free(&r);
}

TEST(cli_ebc_continual_run_logs_each_tasks_accuracy) {
  const char *run = test_path("ebc");
  expect(run_cli(EBC_RUN " --continual split:4 --iters-per-task 2 --iters 8 --eval-data toy:8gaussians:test:50 "
                 "--out %s", run), 0, "trained ebc", NULL);
  char path[600];
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  char *text = test_read_text(path);
  REQUIRE(text);
  const char *last = strstr(text, "{\"step\":8,");
  REQUIRE(last);
  CHECK(strstr(last, "\"task\":3") && strstr(last, "\"accuracy_task3\":"));
  CHECK(strstr(text, "\"accuracy_task0\":") < last); /* task 0 ended at step 2 */
  free(text);
  snprintf(path, sizeof path, "%s/config.json", run);
  text = test_read_text(path);
  REQUIRE(text);
  CHECK_CONTAINS(text, "\"split:4\"");
  free(text);
}

TEST(cli_ebc_refuses_bad_splits_unlabelled_data_and_continual_jem_with_hidden_labels) {
  expect(run_cli(EBC_RUN " --continual split:3 --iters 2 --out %s", test_path("r1")), 1, NULL,
         "continual split:3: the 8 classes of toy:8gaussians:train:300 do not divide into 3 tasks");
  expect(run_cli(EBC_RUN " --continual thirds --iters 2 --out %s", test_path("r2")), 2, NULL,
         "continual expects none or split:K");
  const char *x = test_path("pts.npy");
  float pts[64];
  for (int i = 0; i < 64; i++) pts[i] = (float)i / 64.0f;
  int64_t shape[2] = {32, 2};
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, pts));
  expect(run_cli("train --data npy:%s --arch " EBC_ARCH " --method ebc --continual split:4 --batch 16 --iters 1 "
                 "--out %s", x, test_path("r3")), 1, NULL, "method ebc needs labels");
  expect(run_cli("train --data toy:8gaussians:train:300 --arch " EBC_ARCH " --method jem --continual split:4 "
                 "--labelled 10 --iters 1 --out %s", test_path("r4")), 2, NULL,
         "continual learning uses every label");
}
