/* The thread-local error detail: a message too long for it loses the
 * middle of its longest word (the path), never its reason (issue 13, 12). */
#include "test.h"

static char *long_path(size_t len) {
  char *p = malloc(len + 1);
  REQUIRE(p);
  for (size_t i = 0; i < len; i++) p[i] = i % 16 == 0 ? '/' : (char)('a' + i % 26);
  p[len] = '\0';
  return p;
}

TEST(error_with_a_long_path_keeps_the_reason_and_both_ends_of_the_path) {
  char *path = long_path(3000);
  ebm_set_error(EBM_ERR_SHAPE, "%s/model.safetensors: tensor 'net.0.weight' has shape [3,3], expected [4,4]", path);
  const char *e = ebm_last_error();
  CHECK(strlen(e) < 1024);
  CHECK(strlen(e) > 900); /* shortened, not emptied */
  CHECK_CONTAINS(e, "model.safetensors: tensor 'net.0.weight' has shape [3,3], expected [4,4]");
  CHECK(strncmp(e, path, 100) == 0);
  CHECK_CONTAINS(e, "\xe2\x80\xa6"); /* … marks the cut */
  /* a prefix added later goes through the same shortening */
  ebm_error_prefix(EBM_ERR_SHAPE, path);
  e = ebm_last_error();
  CHECK(strlen(e) < 1024);
  CHECK_CONTAINS(e, "has shape [3,3], expected [4,4]");
  free(path);
}

TEST(error_without_long_words_is_cut_in_the_middle_and_short_ones_stay_whole) {
  char words[4000];
  size_t n = 0;
  while (n + 6 < sizeof words - 40) n += (size_t)snprintf(words + n, sizeof words - n, "word ");
  ebm_set_error(EBM_ERR_ARG, "%sTHE REASON", words);
  const char *e = ebm_last_error();
  CHECK(strlen(e) < 1024);
  CHECK(strncmp(e, "word word", 9) == 0);
  CHECK_CONTAINS(e, "THE REASON");
  ebm_set_error(EBM_ERR_ARG, "short: %d", 42);
  CHECK(strcmp(ebm_last_error(), "short: 42") == 0);
  ebm_error_prefix(EBM_ERR_ARG, "file.npy");
  CHECK(strcmp(ebm_last_error(), "file.npy: short: 42") == 0);
}

TEST(error_cut_never_splits_a_utf8_character) {
  /* a 2000-byte path of 2-byte characters (é) */
  char path[2001];
  for (int i = 0; i < 1000; i++) path[2 * i] = (char)0xc3, path[2 * i + 1] = (char)0xa9;
  path[2000] = '\0';
  ebm_set_error(EBM_ERR_IO, "%s: cannot open", path);
  const unsigned char *e = (const unsigned char *)ebm_last_error();
  size_t len = strlen((const char *)e);
  CHECK(len < 1024);
  CHECK_CONTAINS((const char *)e, ": cannot open");
  for (size_t i = 0; i < len; i++) {
    if (e[i] == 0xc3) CHECK(e[i + 1] == 0xa9);
    if (e[i] == 0xa9) CHECK(i > 0 && e[i - 1] == 0xc3);
  }
}

/* Bytes that are not UTF-8 (a Latin-1 path: a run of continuation bytes
 * longer than any character) are cut too, in bounded time: the cut's end
 * once stepped back to the run's start and never got past it. fuzz_spec_text
 * found it through an energy spec's message. */
TEST(error_cut_of_text_that_is_not_utf8_ends) {
  char path[1601];
  for (int i = 0; i < 1600; i++) path[i] = i >= 900 && i < 1400 ? (char)0x83 : (char)('a' + i % 26);
  path[1600] = '\0';
  ebm_set_error(EBM_ERR_IO, "%s: cannot open", path);
  const char *e = ebm_last_error();
  CHECK(strlen(e) < 1024);
  CHECK(strlen(e) > 600); /* the cut may take the whole run of stray bytes with it */
  CHECK_CONTAINS(e, ": cannot open");
  CHECK(strncmp(e, path, 100) == 0);
}
