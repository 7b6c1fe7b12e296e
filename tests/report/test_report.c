/* The run report (ebm/report.h, `ebm report`, `ebm train --report`): what
 * the page holds for a real run, events on the time axis, byte-exact
 * inlined pictures, errors naming the file; and a real browser drawing it. */
#include <sys/stat.h>
#include <unistd.h>

#include "report/report_internal.h"
#include "test_util.h"

#define TOY_RUN "train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 3 " \
                "--sampler ula --step-size 0.1 --lr 1e-2 --seed 3"

static char *base64_text(const char *s) {
  io_buf b = {0};
  report_base64(&b, (const uint8_t *)s, strlen(s));
  io_buf_append(&b, "", 1);
  return b.data;
}

TEST(report_base64_matches_rfc4648_vectors) {
  static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    char *got = base64_text(in[i]);
    CHECK(got && strcmp(got, want[i]) == 0);
    free(got);
  }
}

TEST(report_html_escape_escapes_markup) {
  io_buf b = {0};
  report_html_escape(&b, "<a href=\"x\">&</a>");
  io_buf_append(&b, "", 1);
  CHECK(strcmp(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;") == 0);
  io_buf_free(&b);
}

static int decode_char(char c) {
  const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = strchr(alphabet, c);
  return c && p ? (int)(p - alphabet) : -1;
}

/* Decodes base64 up to the first character outside the alphabet. */
static size_t base64_decode(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (; decode_char(*s) >= 0; s++) {
    acc = acc << 6 | (uint32_t)decode_char(*s);
    bits += 6;
    if (bits >= 8 && n < cap) {
      bits -= 8;
      out[n++] = (uint8_t)(acc >> bits);
    }
  }
  return n;
}

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

/* A toy run with --report: every plot, the samples strip (the last picture
 * byte-exact), the config, an evaluation file; a resume marked. */
TEST(report_of_a_real_run_has_plots_samples_config_and_events) {
  char run[512], html[600], png[600], eval[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  cli_result r = run_cli(TOY_RUN " --iters 4 --sample-every 2 --save-every 2 --report --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --out %s --resume --iters 6 --report", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(eval, sizeof eval, "%s/eval_nll.json", run);
  const char *eval_json = "{\"nll\": 2.5, \"bounds\": {\"lower\": 2.25}}";
  test_write_file(eval, eval_json, strlen(eval_json));
  r = run_cli("report %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "report.html");
  cli_result_free(&r);

  snprintf(html, sizeof html, "%s/report.html", run);
  char *page = test_read_text(html);
  REQUIRE(page);
  CHECK_CONTAINS(page, "<!DOCTYPE html>");
  CHECK_CONTAINS(page, "step 6 of 6");
  CHECK_CONTAINS(page, "Saved at step 6 after "); /* ckpt/last.clock.json */
  CHECK_CONTAINS(page, "over 2 parts.");
  static const char *const titles[] = {">loss<", ">mean energies<", ">learning rate<",
                                       ">parameter gradient norm (before clipping)<", ">sampler acceptance<",
                                       ">sampler step size<"};
  for (int i = 0; i < 6; i++) CHECK_CONTAINS(page, titles[i]);
  CHECK(count(page, "<svg class=\"plot\"") >= 8);
  CHECK(!strstr(page, "<script")); /* no JavaScript, no network */
  CHECK(!strstr(page, "http://") || count(page, "http://") == count(page, "http://www.w3.org/2000/svg"));
  CHECK(!strstr(page, "https://"));
  CHECK_EQ_INT(count(page, "<figure><img"), 3); /* steps 2, 4, 6 */
  CHECK_CONTAINS(page, "step 4: resume"); /* the mark's tooltip on the step axis */
  CHECK_CONTAINS(page, "<tr class=\"resume\"><td>4</td>");
  CHECK_CONTAINS(page, "<td>bounds.lower</td><td>2.25</td>");
  CHECK_CONTAINS(page, "<td>step-size</td><td>0.1</td>");

  /* The last picture, decoded from its data: URI, is the file's bytes. */
  const char *uri = strstr(page, "alt=\"samples at step 6\" src=\"data:image/png;base64,");
  REQUIRE(uri);
  uri = strchr(uri, ',') + 1;
  snprintf(png, sizeof png, "%s/samples/step_000006.png", run);
  uint8_t *file = NULL, *decoded = malloc(1 << 22);
  size_t size = 0;
  REQUIRE(decoded);
  REQUIRE_OK(ebm_read_file(png, 1 << 22, &file, &size));
  size_t n = base64_decode(uri, decoded, 1 << 22);
  CHECK_EQ_INT(n, size);
  CHECK(n == size && memcmp(decoded, file, size) == 0);
  free(file);
  free(decoded);
  free(page);
}

TEST(report_marks_a_divergence_at_its_step) {
  char run[512], html[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  setenv("EBM_TEST_INJECT_NAN_AT", "3", 1);
  cli_result r = run_cli(TOY_RUN " --iters 10 --sample-every 2 --report --out %s", run);
  unsetenv("EBM_TEST_INJECT_NAN_AT");
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "diverged at step 3");
  cli_result_free(&r);
  snprintf(html, sizeof html, "%s/report.html", run);
  char *page = test_read_text(html);
  REQUIRE(page);
  CHECK_CONTAINS(page, "<title>step 3: diverged — diverged at step 3: e_neg is NaN</title>");
  CHECK_CONTAINS(page, "<tr class=\"diverged\"><td>3</td>");
  CHECK_CONTAINS(page, "step 2 of 10");
  free(page);
}

TEST(report_errors_name_the_file_and_line) {
  char run[512], path[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  mkdir(run, 0777);
  cli_result r = run_cli("report %s", run);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "not a run directory (no metrics.jsonl, no config.json)");
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  const char *lines = "{\"step\": 1, \"loss\": 0.5}\n[1, 2]\n";
  test_write_file(path, lines, strlen(lines));
  r = run_cli("report %s", run);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "metrics.jsonl:2: not a JSON object");
  cli_result_free(&r);
  /* A torn last line (a run writing right now) is left for the next refresh. */
  lines = "{\"step\": 1, \"loss\": 0.5}\n{\"step\": 2, \"lo";
  test_write_file(path, lines, strlen(lines));
  CHECK_OK(ebm_report_write(run, NULL));
  r = run_cli("report");
  CHECK_EQ_INT(r.code, 2);
  cli_result_free(&r);
  r = run_cli("report %s --out %s", run, path); /* would overwrite its own input */
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "RUN_DIR");
  cli_result_free(&r);
  char *kept = test_read_text(path);
  CHECK(kept && strcmp(kept, lines) == 0);
  free(kept);
}

/* Numbers a hand-edited or damaged file can hold: a loss whose span is below
 * a double's resolution at its magnitude (the tick loop once added a step
 * smaller than one ulp forever; fuzz_run_report found it), steps out of
 * order, and an event step past 2^53 (refused: it has no int64 value). */
TEST(report_survives_absurd_numbers) {
  char run[512], path[600], html[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  mkdir(run, 0777);
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  const char *lines = "{\"step\": 30, \"loss\": 1e20}\n{\"step\": 10, \"loss\": 1.00000000000000016384e20}\n"
                      "{\"step\": 1e17, \"loss\": 1e20}\n{\"step\": 1.00000000000000016e17, \"loss\": 1e20, \"grad_norm\": -1e308}\n";
  test_write_file(path, lines, strlen(lines));
  CHECK_OK(ebm_report_write(run, NULL));
  snprintf(html, sizeof html, "%s/report.html", run);
  char *page = test_read_text(html);
  REQUIRE(page);
  CHECK_CONTAINS(page, "<svg class=\"plot\"");
  CHECK(count(page, "<line class=\"grid\"") <= 2 * 24 * 8); /* at most 24 ticks an axis */
  free(page);
  snprintf(path, sizeof path, "%s/events.jsonl", run);
  lines = "{\"step\": 20, \"event\": \"resume\"}\n{\"step\": 1e300, \"event\": \"diverged\"}\n";
  test_write_file(path, lines, strlen(lines));
  CHECK_EQ_INT(ebm_report_write(run, NULL), EBM_ERR_FORMAT);
  CHECK_CONTAINS(ebm_last_error(), "events.jsonl:2: \"step\" 1e+300 is not a step number");
}

/* Headless Chromium (Debian `chromium`, from scripts/install-deps.sh) draws
 * the page: no console errors, and the curves' and the resume mark's colours
 * appear in the screenshot. */
TEST(report_renders_in_headless_chromium) {
  if (system("command -v chromium >/dev/null 2>&1") != 0) {
    printf("    note: chromium is not installed (scripts/install-deps.sh installs it); browser test skipped\n");
    return;
  }
  char run[512], html[600], shot[600], cmd[2400];
  snprintf(run, sizeof run, "%s", test_path("run"));
  cli_result r = run_cli(TOY_RUN " --iters 4 --sample-every 2 --save-every 2 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --out %s --resume --iters 8 --report", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(html, sizeof html, "%s/report.html", run);
  snprintf(shot, sizeof shot, "%s", test_path("shot.png"));
  snprintf(cmd, sizeof cmd,
           "HOME=%s timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
           "--no-first-run --hide-scrollbars --window-size=1200,1400 --enable-logging=stderr --v=0 "
           "--screenshot=%s 'file://%s' >%s 2>&1",
           test_tmpdir(), shot, html, test_path("chromium.log"));
  int rc = system(cmd);
  char *log = test_read_text(test_path("chromium.log"));
  CHECK_EQ_INT(rc, 0);
  CHECK(!log || !strstr(log, ":CONSOLE")); /* Chromium logs every console message as CONSOLE */
  if (log && strstr(log, ":CONSOLE")) printf("    chromium: %s\n", log);
  free(log);
  int w = 0, h = 0, c = 0;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(shot, &w, &h, &c, &px));
  long blue = 0, green = 0, nonwhite = 0;
  for (long i = 0; i < (long)w * h; i++) {
    const uint8_t *p = px + i * c;
    int r8 = p[0], g8 = c >= 3 ? p[1] : p[0], b8 = c >= 3 ? p[2] : p[0];
    blue += abs(r8 - 0x1f) < 40 && abs(g8 - 0x77) < 40 && abs(b8 - 0xb4) < 40; /* curves */
    green += abs(r8 - 0x2c) < 40 && abs(g8 - 0xa0) < 40 && abs(b8 - 0x2c) < 40; /* the resume mark */
    nonwhite += r8 < 200 || g8 < 200 || b8 < 200;
  }
  free(px);
  printf("    chromium screenshot %dx%d: %ld curve pixels, %ld resume-mark pixels\n", w, h, blue, green);
  CHECK(blue > 1000);
  CHECK(green > 100);
  CHECK(nonwhite > (long)w * h / 100);
}
