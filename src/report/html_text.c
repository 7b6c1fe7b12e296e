/* Text helpers of the run report: HTML escaping and base64 for the data:
 * URIs that inline the sample pictures. */
#include "report/report_internal.h"

void report_html_escape(io_buf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
      case '&': io_buf_puts(b, "&amp;"); break;
      case '<': io_buf_puts(b, "&lt;"); break;
      case '>': io_buf_puts(b, "&gt;"); break;
      case '"': io_buf_puts(b, "&quot;"); break;
      default: io_buf_append(b, s, 1);
    }
  }
}

void report_base64(io_buf *b, const uint8_t *data, size_t n) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (!io_buf_reserve(b, (n + 2) / 3 * 4)) return;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < n) v |= (uint32_t)data[i + 1] << 8;
    if (i + 2 < n) v |= data[i + 2];
    char quad[4] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63], i + 1 < n ? alphabet[v >> 6 & 63] : '=',
                    i + 2 < n ? alphabet[v & 63] : '='};
    io_buf_append(b, quad, 4);
  }
}
