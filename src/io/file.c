/* Whole-file reads and atomic writes (DESIGN §2: "Writes are atomic (temp
 * file, fsync, rename)"). Every writer in io/ encodes into memory first and
 * hands the bytes to ebm_write_file_atomic, so a crash or a full disk never
 * leaves a half-written checkpoint where a good one used to be. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io_internal.h"

#define READ_CHUNK_BYTES ((size_t)1 << 16)

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

ebm_status ebm_write_file_atomic_parts(const char *path, int nparts, const void *const *parts,
                                       const size_t *sizes) {
  ebm_status status = EBM_OK;
  int fd = -1;
  size_t plen = strlen(path);
  char *tmp = malloc(plen + sizeof ".tmp-XXXXXX");
  if (!tmp) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
  mode_t mode = target_mode(path);
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
  if (rename(tmp, path) != 0) {
    status = ebm_set_error(EBM_ERR_IO, "%s: cannot replace: %s", path, strerror(errno));
    goto fail;
  }
  sync_parent_dir(path);
  free(tmp);
  return EBM_OK;
fail:
  if (fd >= 0) close(fd);
  if (tmp[0]) unlink(tmp);
  free(tmp);
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
  ebm_status status = EBM_OK;
  uint8_t *buf = NULL;
  *data = NULL;
  *size = 0;
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
  size_t len = 0;
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
