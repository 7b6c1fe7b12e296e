/* Atomic writes over what is not a plain file, and readers that look at a
 * format's first bytes before reading on (issue 13, items 2, 7 and 12). */
#define _DEFAULT_SOURCE /* mknod, S_IFCHR */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/io_test_util.h"

static void check_content(const char *path, const char *want) {
  size_t size;
  uint8_t *got = io_test_slurp(path, &size);
  CHECK_EQ_INT(size, strlen(want));
  CHECK(size == strlen(want) && memcmp(got, want, size) == 0);
  free(got);
}

TEST(atomic_write_through_a_symlink_replaces_the_target_and_keeps_the_link) {
  const char *target = test_path("real.npy"), *link = test_path("link.npy");
  test_write_file(target, "old", 3);
  REQUIRE(symlink("real.npy", link) == 0); /* relative, as users make them */
  CHECK_OK(ebm_write_file_atomic(link, "new content", 11));
  struct stat st;
  REQUIRE(lstat(link, &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  check_content(target, "new content");
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 2);
  /* a chain of links ends at the same file */
  REQUIRE(symlink("link.npy", test_path("link2.npy")) == 0);
  CHECK_OK(ebm_write_file_atomic(test_path("link2.npy"), "third", 5));
  check_content(target, "third");
  REQUIRE(lstat(link, &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  /* a dangling link is refused, not replaced by a plain file */
  REQUIRE(symlink("nowhere/x.npy", test_path("dangling.npy")) == 0);
  CHECK_FAILS_WITH(ebm_write_file_atomic(test_path("dangling.npy"), "x", 1), EBM_ERR_IO,
                   "dangling.npy: is a symlink that cannot be followed");
  REQUIRE(lstat(test_path("dangling.npy"), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
}

TEST(atomic_write_into_a_fifo_writes_through_it_and_keeps_the_fifo) {
  const char *fifo = test_path("pipe");
  REQUIRE(mkfifo(fifo, 0600) == 0);
  /* our own reader end, so the writer's open does not block */
  int rd = open(fifo, O_RDONLY | O_NONBLOCK);
  REQUIRE(rd >= 0);
  CHECK_OK(ebm_write_file_atomic(fifo, "through the pipe", 16));
  char buf[64] = {0};
  ssize_t got = read(rd, buf, sizeof buf);
  close(rd);
  CHECK_EQ_INT(got, 16);
  CHECK(memcmp(buf, "through the pipe", 16) == 0);
  struct stat st;
  REQUIRE(lstat(fifo, &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 1);
}

/* /dev/null and /dev/full made in the temp dir (mknod works as root; where
 * it does not, the system's own nodes are used: nothing is replaced either
 * way, which is what is checked). */
TEST(atomic_write_onto_character_devices_writes_in_place) {
  const char *null_node = test_path("null"), *full_node = test_path("full");
  int made = mknod(null_node, S_IFCHR | 0666, makedev(1, 3)) == 0 &&
             mknod(full_node, S_IFCHR | 0666, makedev(1, 7)) == 0;
  if (!made) null_node = "/dev/null", full_node = "/dev/full";
  CHECK_OK(ebm_write_file_atomic(null_node, "discarded", 9));
  CHECK_FAILS_WITH(ebm_write_file_atomic(full_node, "no room", 7), EBM_ERR_IO, "cannot write: No space left");
  struct stat st;
  REQUIRE(stat(null_node, &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  REQUIRE(stat(full_node, &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), made ? 2 : 0);
}

TEST(atomic_write_of_the_longest_file_name_works) {
  char name[NAME_MAX + 1];
  memset(name, 'n', NAME_MAX);
  name[NAME_MAX] = '\0';
  const char *p = test_path(name);
  CHECK_OK(ebm_write_file_atomic(p, "long", 4));
  check_content(p, "long");
  CHECK_OK(ebm_write_file_atomic(p, "longer", 6));
  check_content(p, "longer");
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 1);
}

/* A reader refuses /dev/zero after a few bytes (it used to read the whole
 * size bound, gigabytes, before looking at the magic). */
TEST(readers_refuse_a_device_by_its_first_bytes) {
  ebm_npy a;
  ebm_idx x;
  ebm_safetensors *st = NULL;
  CHECK_FAILS_WITH(ebm_npy_load("/dev/zero", &a), EBM_ERR_FORMAT, "/dev/zero: not a .npy file");
  CHECK_FAILS_WITH(ebm_idx_load("/dev/zero", &x), EBM_ERR_FORMAT, "/dev/zero: not an idx file");
  CHECK_FAILS_WITH(ebm_safetensors_load("/dev/zero", &st), EBM_ERR_FORMAT,
                   "/dev/zero: header length 0: not a safetensors file");
  CHECK(st == NULL);
  int w, h, c;
  uint8_t *px = NULL;
  CHECK_FAILS_WITH(ebm_png_read("/dev/zero", &w, &h, &c, &px), EBM_ERR_FORMAT, "/dev/zero: not a PNG file");
  /* a FIFO that does hold an array is still read whole */
  const char *fifo = test_path("pipe.npy");
  REQUIRE(mkfifo(fifo, 0600) == 0);
  uint8_t *buf = NULL;
  size_t size = 0;
  float v[3] = {1, 2, 3};
  int64_t shape[1] = {3};
  REQUIRE_OK(ebm_npy_serialize(EBM_DTYPE_F32, 1, shape, v, &buf, &size));
  pid_t pid = fork(); /* the writer: its open waits for our reader */
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int wr = open(fifo, O_WRONLY);
    _exit(wr >= 0 && write(wr, buf, size) == (ssize_t)size ? 0 : 1);
  }
  free(buf);
  CHECK_OK(ebm_npy_load(fifo, &a));
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_INT(a.shape[0], 3);
  CHECK(a.data && ((float *)a.data)[2] == 3.0f);
  ebm_npy_free(&a);
}

/* A file whose header length is larger than the file is refused from the
 * first 8 bytes, whatever its size. */
TEST(safetensors_header_length_is_checked_against_the_file_size_first) {
  uint8_t file[16] = {0};
  file[0] = 200; /* 200-byte header in a 16-byte file */
  file[8] = '{';
  test_write_file(test_path("short.safetensors"), file, sizeof file);
  ebm_safetensors *st = NULL;
  CHECK_FAILS_WITH(ebm_safetensors_load(test_path("short.safetensors"), &st), EBM_ERR_FORMAT,
                   "header length 200 is larger than the file (16 bytes)");
}
