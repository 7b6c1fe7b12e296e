#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io_test_util.h"

int io_test_count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void check_content(const char *path, const char *want) {
  size_t size;
  uint8_t *got = io_test_slurp(path, &size);
  CHECK_EQ_INT(size, strlen(want));
  CHECK(size == strlen(want) && memcmp(got, want, size) == 0);
  free(got);
}

TEST(atomic_write_replaces_content_and_leaves_no_temp_file) {
  const char *p = test_path("f.bin");
  CHECK_OK(ebm_write_file_atomic(p, "old content", 11));
  check_content(p, "old content");
  CHECK_OK(ebm_write_file_atomic(p, "new", 3));
  check_content(p, "new");
  CHECK_OK(ebm_write_file_atomic(p, "", 0));
  check_content(p, "");
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 1);
}

TEST(atomic_write_keeps_permissions_of_replaced_file_and_umask_for_new) {
  umask(022);
  const char *p = test_path("keep.bin");
  CHECK_OK(ebm_write_file_atomic(p, "a", 1));
  struct stat st;
  REQUIRE(stat(p, &st) == 0);
  CHECK_EQ_INT(st.st_mode & 0777, 0644);
  REQUIRE(chmod(p, 0640) == 0);
  CHECK_OK(ebm_write_file_atomic(p, "b", 1));
  REQUIRE(stat(p, &st) == 0);
  CHECK_EQ_INT(st.st_mode & 0777, 0640);
}

TEST(atomic_write_failing_midway_keeps_old_file_and_removes_temp) {
  const char *p = test_path("model.bin");
  CHECK_OK(ebm_write_file_atomic(p, "precious", 8));
  /* Fault injection: the file size limit makes write(2) fail with EFBIG
   * after 4 KB, as a full disk would. This test runs in its own process. */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = {4096, 4096};
  REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  size_t big = 100000;
  char *data = calloc(big, 1);
  CHECK_FAILS_WITH(ebm_write_file_atomic(p, data, big), EBM_ERR_IO, "model.bin: cannot write");
  free(data);
  check_content(p, "precious");
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 1);
}

TEST(atomic_write_onto_a_directory_fails_and_leaves_it_intact) {
  const char *dir = test_path("adir");
  REQUIRE(mkdir(dir, 0755) == 0);
  test_write_file(test_path("adir/inside"), "x", 1);
  CHECK_FAILS_WITH(ebm_write_file_atomic(dir, "data", 4), EBM_ERR_IO, "adir: is a directory");
  CHECK_EQ_INT(io_test_count_entries(dir), 1);
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 1);
}

TEST(atomic_write_into_missing_directory_names_the_path) {
  CHECK_FAILS_WITH(ebm_write_file_atomic(test_path("nodir/f.bin"), "x", 1), EBM_ERR_IO,
                   "nodir/f.bin: cannot create a temporary file");
}

TEST(read_file_reads_exact_bytes_and_enforces_the_bound) {
  const char *p = test_path("r.bin");
  test_write_file(p, "0123456789", 10);
  uint8_t *buf;
  size_t size;
  CHECK_OK(ebm_read_file(p, 10, &buf, &size));
  CHECK_EQ_INT(size, 10);
  CHECK(memcmp(buf, "0123456789", 10) == 0);
  CHECK(((uintptr_t)buf % EBM_ALIGN) == 0);
  free(buf);
  CHECK_FAILS_WITH(ebm_read_file(p, 9, &buf, &size), EBM_ERR_FORMAT, "r.bin: file is 10 bytes");
  CHECK(buf == NULL && size == 0);
  CHECK_FAILS_WITH(ebm_read_file(test_path("missing"), 100, &buf, &size), EBM_ERR_IO,
                   "missing: cannot open: No such file");
  CHECK_FAILS_WITH(ebm_read_file(test_tmpdir(), 100, &buf, &size), EBM_ERR_IO, "is a directory");
}

TEST(read_file_handles_files_without_a_size_and_empty_files) {
  uint8_t *buf;
  size_t size;
  /* /proc files report st_size 0 but have content: the reader must grow. */
  CHECK_OK(ebm_read_file("/proc/self/status", 1 << 20, &buf, &size));
  CHECK(size > 50 && memcmp(buf, "Name:", 5) == 0);
  free(buf);
  CHECK_FAILS_WITH(ebm_read_file("/proc/self/status", 20, &buf, &size), EBM_ERR_FORMAT,
                   "more than the 20 bytes");
  test_write_file(test_path("empty"), "", 0);
  CHECK_OK(ebm_read_file(test_path("empty"), 100, &buf, &size));
  CHECK(buf != NULL && size == 0);
  free(buf);
}
