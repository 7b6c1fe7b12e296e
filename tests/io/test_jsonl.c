#include "io/io_test_util.h"

static char *slurp_text(const char *path) {
  size_t size;
  uint8_t *b = io_test_slurp(path, &size);
  char *s = malloc(size + 1);
  memcpy(s, b, size);
  s[size] = '\0';
  free(b);
  return s;
}

TEST(jsonl_writes_one_flushed_object_per_line_with_escapes_and_nulls) {
  const char *p = test_path("m.jsonl");
  ebm_jsonl *j;
  REQUIRE_OK(ebm_jsonl_open(p, 1, &j));
  ebm_jsonl_begin(j);
  ebm_jsonl_int(j, "step", 12);
  ebm_jsonl_num(j, "loss", 0.1);
  ebm_jsonl_num(j, "e_pos", NAN);
  ebm_jsonl_num(j, "e_neg", -INFINITY);
  ebm_jsonl_num(j, "lr", 1e-4);
  ebm_jsonl_num(j, "big", 1e300);
  ebm_jsonl_str(j, "note", "a\"b\\c\nd\te\x01 \xce\xbb \xff");
  ebm_jsonl_str(j, "none", NULL);
  REQUIRE_OK(ebm_jsonl_end(j));
  /* Flushed: visible before close. */
  char *text = slurp_text(p);
  CHECK(strcmp(text, "{\"step\":12,\"loss\":0.1,\"e_pos\":null,\"e_neg\":null,\"lr\":0.0001,"
                     "\"big\":1e+300,\"note\":\"a\\\"b\\\\c\\nd\\te\\u0001 \xce\xbb \xef\xbf\xbd\","
                     "\"none\":null}\n") == 0);
  if (strstr(text, "step") == NULL || text[strlen(text) - 1] != '\n')
    test_fail_at(__FILE__, __LINE__, "got %s", text);
  free(text);
  ebm_jsonl_int(j, "step", INT64_MIN); /* without begin */
  ebm_jsonl_num(j, "x", 0.30000000000000004);
  REQUIRE_OK(ebm_jsonl_end(j));
  ebm_jsonl_begin(j);
  REQUIRE_OK(ebm_jsonl_end(j));
  ebm_jsonl_close(j);
  text = slurp_text(p);
  CHECK_CONTAINS(text, "}\n{\"step\":-9223372036854775808,\"x\":0.30000000000000004}\n{}\n");
  free(text);
  ebm_jsonl_close(NULL);
}

TEST(jsonl_appends_or_truncates_and_reports_open_errors) {
  const char *p = test_path("a.jsonl");
  for (int round = 0; round < 2; round++) {
    ebm_jsonl *j;
    REQUIRE_OK(ebm_jsonl_open(p, 0, &j));
    ebm_jsonl_int(j, "round", round);
    REQUIRE_OK(ebm_jsonl_end(j));
    ebm_jsonl_close(j);
  }
  char *text = slurp_text(p);
  CHECK(strcmp(text, "{\"round\":0}\n{\"round\":1}\n") == 0);
  free(text);
  ebm_jsonl *j;
  REQUIRE_OK(ebm_jsonl_open(p, 1, &j));
  ebm_jsonl_close(j);
  text = slurp_text(p);
  CHECK(text[0] == '\0');
  free(text);
  CHECK_FAILS_WITH(ebm_jsonl_open(test_path("no/m.jsonl"), 1, &j), EBM_ERR_IO,
                   "no/m.jsonl: cannot open for writing");
  CHECK(j == NULL);
}

TEST(jsonl_numbers_read_back_exactly_with_python) {
  /* Parse our output with Python's json module: the strongest check that
   * what we write is valid JSON and the numbers round-trip. */
  const char *p = test_path("n.jsonl");
  ebm_jsonl *j;
  REQUIRE_OK(ebm_jsonl_open(p, 1, &j));
  const double vals[5] = {0.1, 1.0 / 3.0, -2.5e-310, 123456789.0, 6.02214076e23};
  for (int i = 0; i < 5; i++) {
    ebm_jsonl_begin(j);
    ebm_jsonl_num(j, "v", vals[i]);
    ebm_jsonl_str(j, "s", "\x7f\x1f\xe2\x82\xac");
    REQUIRE_OK(ebm_jsonl_end(j));
  }
  ebm_jsonl_close(j);
  if (system("/usr/bin/python3 -c 1 >/dev/null 2>&1") != 0) return;
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import json,sys; v=[json.loads(l) for l in open('%s')]; "
           "sys.exit(0 if [r['v'] for r in v]==[0.1,1/3,-2.5e-310,123456789.0,6.02214076e23] "
           "and v[0]['s']=='\\x7f\\x1f\\u20ac' else 1)\"", p);
  CHECK_EQ_INT(system(cmd), 0);
}

/* A results file (replace mode) is written whole at commit: until then,
 * and when closed without one (a failed run), the previous file stays. */
TEST(jsonl_replace_mode_keeps_the_previous_file_until_commit) {
  const char *p = test_path("r.json");
  test_write_file(p, "old\n", 4);
  ebm_jsonl *j;
  REQUIRE_OK(ebm_jsonl_open_replace(p, &j));
  ebm_jsonl_int(j, "a", 1);
  REQUIRE_OK(ebm_jsonl_end(j));
  ebm_jsonl_int(j, "b", 2);
  REQUIRE_OK(ebm_jsonl_end(j));
  char *text = slurp_text(p);
  CHECK_EQ_STR(text, "old\n");
  free(text);
  REQUIRE_OK(ebm_jsonl_commit(j));
  ebm_jsonl_close(j);
  text = slurp_text(p);
  CHECK_EQ_STR(text, "{\"a\":1}\n{\"b\":2}\n");
  free(text);
  /* closed without a commit: nothing written */
  REQUIRE_OK(ebm_jsonl_open_replace(p, &j));
  ebm_jsonl_int(j, "c", 3);
  REQUIRE_OK(ebm_jsonl_end(j));
  ebm_jsonl_close(j);
  text = slurp_text(p);
  CHECK_EQ_STR(text, "{\"a\":1}\n{\"b\":2}\n");
  free(text);
  /* commit is for replace mode only */
  REQUIRE_OK(ebm_jsonl_open(test_path("log.jsonl"), 1, &j));
  CHECK_FAILS_WITH(ebm_jsonl_commit(j), EBM_ERR_ARG, "ebm_jsonl_open_replace");
  ebm_jsonl_close(j);
}
