/* A growable byte buffer and the JSON text helpers the safetensors writer
 * and the JSON Lines writer share. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

void io_buf_free(io_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int io_buf_reserve(io_buf *b, size_t extra) {
  if (b->failed) return 0;
  if (extra <= b->cap - b->len) return 1;
  if (extra > SIZE_MAX / 2 - b->len) {
    b->failed = 1;
    return 0;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < extra) cap *= 2;
  char *nd = realloc(b->data, cap);
  if (!nd) {
    b->failed = 1;
    return 0;
  }
  b->data = nd;
  b->cap = cap;
  return 1;
}

void io_buf_append(io_buf *b, const void *data, size_t n) {
  if (!n || !io_buf_reserve(b, n)) return;
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

void io_buf_puts(io_buf *b, const char *s) { io_buf_append(b, s, strlen(s)); }

void io_buf_printf(io_buf *b, const char *fmt, ...) {
  char small[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    io_buf_append(b, small, (size_t)n);
    return;
  }
  if (!io_buf_reserve(b, (size_t)n + 1)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Decodes one UTF-8 sequence at s[0..n): returns its length (0 if invalid)
 * and the code point in *cp. Rejects overlongs, surrogates, > U+10FFFF. */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
  uint8_t c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = v << 6 | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

int io_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t len = utf8_decode(s + i, n - i, &cp);
    if (!len) return 0;
    i += len;
  }
  return 1;
}

void io_json_string(io_buf *b, const char *s, int ascii_only) {
  const uint8_t *p = (const uint8_t *)s;
  size_t n = strlen(s), i = 0;
  io_buf_append(b, "\"", 1);
  while (i < n) {
    uint8_t c = p[i];
    const char *esc = NULL;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default: break;
    }
    if (esc) {
      io_buf_puts(b, esc);
      i++;
      continue;
    }
    if (c >= 0x20 && c < 0x7F) {
      size_t run = i;
      while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' && p[run] != '\\') run++;
      io_buf_append(b, p + i, run - i);
      i = run;
      continue;
    }
    uint32_t cp = c;
    size_t len = 1;
    int invalid = 0;
    if (c >= 0x80) {
      len = utf8_decode(p + i, n - i, &cp);
      if (!len) {
        cp = 0xFFFD; /* an invalid byte becomes one replacement character */
        len = 1;
        invalid = 1;
      }
    }
    if (c < 0x80 || ascii_only) {
      /* Python's json.dumps: \u with 4 lower-case hex digits, surrogate pairs above the BMP. */
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000;
        io_buf_printf(b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        io_buf_printf(b, "\\u%04x", cp);
      }
    } else if (invalid) {
      io_buf_puts(b, "\xEF\xBF\xBD");
    } else {
      io_buf_append(b, p + i, len);
    }
    i += len;
  }
  io_buf_append(b, "\"", 1);
}

void io_json_number(io_buf *b, double v) {
  if (!isfinite(v)) {
    io_buf_puts(b, "null");
    return;
  }
  /* The shortest of %.15g..%.17g that reads back to the same double. */
  char tmp[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v) break;
  }
  io_buf_puts(b, tmp);
}
