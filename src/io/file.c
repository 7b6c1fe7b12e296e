/* Whole-file reads and atomic writes (DESIGN §2: "Writes are atomic (temp
 * file, fsync, rename)"). Every writer in io/ encodes into memory first and
 * hands the bytes to ebm_write_file_atomic, so a crash or a full disk never
 * leaves a half-written checkpoint where a good one used to be. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io_internal.h"

#define READ_CHUNK_BYTES ((size_t)1 << 16)
#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* The process umask without changing it (umask(2) can only read by
 * writing, which races with other threads creating files): Linux reports
 * it in /proc/self/status; elsewhere assume the usual 022. */
static mode_t current_umask(void) {
  mode_t mask = 022;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return mask;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    unsigned int m;
    if (sscanf(line, "Umask: %o", &m) == 1) {
      mask = (mode_t)m;
      break;
    }
  }
  fclose(f);
  return mask;
}

/* A replaced file keeps its permissions; a new one gets 0666 & ~umask like
 * any file made by open(2) (mkstemp's 0600 would surprise the user). */
static mode_t target_mode(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
  return 0666 & ~current_umask();
}

/* fsync of the directory holding `path`, so the rename itself is durable.
 * Best effort: some file systems refuse fsync on directories. */
static void sync_parent_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = NULL;
  if (!slash) {
    dir = strdup(".");
  } else {
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    dir = malloc(n + 1);
    if (dir) {
      memcpy(dir, path, n);
      dir[n] = '\0';
    }
  }
  if (!dir) return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

ebm_status ebm_write_file_atomic(const char *path, const void *data, size_t size) {
  return ebm_write_file_atomic_parts(path, 1, &data, &size);
}

/* Where the bytes for `path` go (*target, malloc'd) and how: a symlink is
 * followed to the file it names, so the link survives and its target is
 * replaced atomically; an existing character device or FIFO (/dev/null, a
 * pipe to another program) is written in place (*direct = 1), since a
 * rename would replace the node with a plain file. Directories, block
 * devices, sockets and dangling symlinks are refused. */
static ebm_status resolve_write_target(const char *path, char **target, int *direct) {
  struct stat st;
  *target = NULL;
  *direct = 0;
  if (lstat(path, &st) != 0) {
    if (errno != ENOENT) return ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    *target = strdup(path);
    return *target ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  }
  if (S_ISLNK(st.st_mode)) {
    *target = realpath(path, NULL);
    if (!*target)
      return ebm_set_error(EBM_ERR_IO, "%s: is a symlink that cannot be followed (%s); remove it or point it "
                           "at an existing file", path, strerror(errno));
    if (stat(*target, &st) != 0) {
      free(*target);
      *target = NULL;
      return ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
  } else if (!(*target = strdup(path))) {
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  }
  if (S_ISREG(st.st_mode)) return EBM_OK;
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
    *direct = 1;
    return EBM_OK;
  }
  const char *what = S_ISDIR(st.st_mode) ? "a directory" : S_ISBLK(st.st_mode) ? "a block device" : "a socket";
  free(*target);
  *target = NULL;
  return ebm_set_error(EBM_ERR_IO, "%s: is %s; give a file name (ebm writes regular files, character "
                       "devices and FIFOs only)", path, what);
}

/* Writes the parts straight into an existing device or FIFO (no temp file:
 * there is nothing to replace atomically). */
static ebm_status write_direct(const char *path, const char *target, int nparts, const void *const *parts,
                               const size_t *sizes) {
  int fd = open(target, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ebm_set_error(EBM_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
  int ok = 1;
  for (int i = 0; ok && i < nparts; i++) ok = write_all(fd, parts[i], sizes[i]) == 0;
  ebm_status status = ok ? EBM_OK : ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  if (close(fd) != 0 && status == EBM_OK)
    status = ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  return status;
}

/* "<dir>/<name>.tmp-XXXXXX" next to `path`, malloc'd. A name too long for a
 * suffix (NAME_MAX) is cut short in the temp name only, so any name that
 * can exist can be written. */
static char *temp_name_for(const char *path) {
  static const char suffix[] = ".tmp-XXXXXX";
  const char *slash = strrchr(path, '/');
  size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
  size_t base_len = strlen(path) - dir_len;
  if (base_len > NAME_MAX - (sizeof suffix - 1)) base_len = NAME_MAX - (sizeof suffix - 1);
  char *tmp = malloc(dir_len + base_len + sizeof suffix);
  if (!tmp) return NULL;
  memcpy(tmp, path, dir_len + base_len);
  memcpy(tmp + dir_len + base_len, suffix, sizeof suffix);
  return tmp;
}

ebm_status ebm_write_file_atomic_parts(const char *path, int nparts, const void *const *parts,
                                       const size_t *sizes) {
  ebm_status status = EBM_OK;
  int fd = -1, direct = 0;
  char *target = NULL, *tmp = NULL;
  if ((status = resolve_write_target(path, &target, &direct)) != EBM_OK) return status;
  if (direct) {
    status = write_direct(path, target, nparts, parts, sizes);
    free(target);
    return status;
  }
  if (!(tmp = temp_name_for(target))) {
    free(target);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  }
  mode_t mode = target_mode(target);
  fd = mkstemp(tmp);
  if (fd < 0) {
    status = ebm_set_error(EBM_ERR_IO, "%s: cannot create a temporary file next to it: %s", path,
                           strerror(errno));
    tmp[0] = '\0'; /* nothing to unlink */
    goto fail;
  }
  int ok = fchmod(fd, mode) == 0;
  for (int i = 0; ok && i < nparts; i++) ok = write_all(fd, parts[i], sizes[i]) == 0;
  if (!ok || fsync(fd) != 0) {
    status = ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    goto fail;
  }
  int rc = close(fd);
  fd = -1;
  if (rc != 0) {
    status = ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    goto fail;
  }
  if (rename(tmp, target) != 0) {
    status = ebm_set_error(EBM_ERR_IO, "%s: cannot replace: %s", path, strerror(errno));
    goto fail;
  }
  sync_parent_dir(target);
  free(tmp);
  free(target);
  return EBM_OK;
fail:
  if (fd >= 0) close(fd);
  if (tmp[0]) unlink(tmp);
  free(tmp);
  free(target);
  return status;
}

/* A 64-byte aligned buffer of at least `size` bytes (free() releases it),
 * so parsers can hand out typed pointers into file contents. */
static uint8_t *alloc_aligned(size_t size) {
  if (size > SIZE_MAX - EBM_ALIGN) return NULL;
  size_t bytes = (size + EBM_ALIGN) / EBM_ALIGN * EBM_ALIGN;
  return aligned_alloc(EBM_ALIGN, bytes);
}

ebm_status ebm_read_file(const char *path, size_t max_size, uint8_t **data, size_t *size) {
  return io_read_file_checked(path, max_size, 0, NULL, data, size);
}

/* Reads up to `want` bytes (fewer only at end of file) into p; *got = count. */
static int read_prefix(int fd, uint8_t *p, size_t want, size_t *got) {
  *got = 0;
  while (*got < want) {
    ssize_t r = read(fd, p + *got, want - *got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    *got += (size_t)r;
  }
  return 0;
}

ebm_status io_read_file_checked(const char *path, size_t max_size, size_t prefix_len, io_prefix_check check,
                                uint8_t **data, size_t *size) {
  ebm_status status = EBM_OK;
  uint8_t *buf = NULL;
  uint8_t prefix[IO_MAX_PREFIX];
  size_t have = 0;
  *data = NULL;
  *size = 0;
  if (prefix_len > IO_MAX_PREFIX) prefix_len = IO_MAX_PREFIX;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    ebm_status code = errno == ENOMEM ? EBM_ERR_NOMEM : EBM_ERR_IO;
    return ebm_set_error(code, "%s: cannot open: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    status = ebm_set_error(EBM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    goto fail;
  }
  if (S_ISDIR(st.st_mode)) {
    status = ebm_set_error(EBM_ERR_IO, "%s: is a directory, not a file", path);
    goto fail;
  }
  /* The format's first bytes before anything else, so a device such as
   * /dev/zero or a huge file of the wrong kind is refused after a few bytes
   * rather than after max_size of them. */
  if (check) {
    if (read_prefix(fd, prefix, prefix_len, &have) != 0) {
      status = ebm_set_error(EBM_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
      goto fail;
    }
    uint64_t known = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
    if ((status = check(prefix, have, known, path)) != EBM_OK) goto fail;
  }
  /* Regular files are read in one allocation; pipes and /proc files grow. */
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_size) {
    status = ebm_set_error(EBM_ERR_FORMAT, "%s: file is %llu bytes, more than the %zu accepted",
                           path, (unsigned long long)st.st_size, max_size);
    goto fail;
  }
  /* One spare byte so the read that sees EOF needs no growth. */
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : READ_CHUNK_BYTES;
  if (cap > max_size) cap = max_size;
  buf = alloc_aligned(cap);
  if (!buf) {
    status = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
    goto fail;
  }
  memcpy(buf, prefix, have); /* have <= IO_MAX_PREFIX < any cap */
  size_t len = have;
  for (;;) {
    if (len == cap) {
      /* Read one byte past the bound to tell "exactly max_size" from "more". */
      if (cap >= max_size) {
        uint8_t probe;
        ssize_t r = read(fd, &probe, 1);
        if (r == 0) break;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
          status = ebm_set_error(EBM_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
          goto fail;
        }
        status = ebm_set_error(EBM_ERR_FORMAT, "%s: file is more than the %zu bytes accepted",
                               path, max_size);
        goto fail;
      }
      size_t grown = cap < max_size / 2 ? (cap ? cap * 2 : READ_CHUNK_BYTES) : max_size;
      if (grown > max_size) grown = max_size;
      uint8_t *nb = alloc_aligned(grown);
      if (!nb) {
        status = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, grown);
        goto fail;
      }
      memcpy(nb, buf, len);
      free(buf);
      buf = nb;
      cap = grown;
    }
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      status = ebm_set_error(EBM_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
      goto fail;
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  *data = buf;
  *size = len;
  return EBM_OK;
fail:
  close(fd);
  free(buf);
  return status;
}
