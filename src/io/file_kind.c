/* What a file is, from its first bytes, for the readers' errors: "m.pt: not
 * a safetensors file: it is a zip archive (a PyTorch .pt file?)" tells a
 * user what went wrong where "header length 8318823019758291579" does not. */
#include <string.h>

#include "io_internal.h"

const char *io_file_kind(const uint8_t *p, size_t len) {
  static const struct {
    const char *magic;
    size_t len;
    const char *kind;
  } kinds[] = {
      {"\x93NUMPY", 6, "an .npy array"},
      {"\x89PNG\r\n\x1a\n", 8, "a PNG image"},
      {"\x1f\x8b", 2, "a gzip file"},
      {"PK\x03\x04", 4, "a zip archive (a PyTorch .pt file? safetensors.torch.save_file writes safetensors)"},
      {"\xff\xd8\xff", 3, "a JPEG image"},
      {"\x7f" "ELF", 4, "a program (ELF)"},
  };
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (len >= kinds[i].len && memcmp(p, kinds[i].magic, kinds[i].len) == 0) return kinds[i].kind;
  /* safetensors starts with a binary length; JSON or other text starts with
   * a printable byte and is never a valid length's low byte in practice. */
  size_t j = 0;
  while (j < len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\r')) j++;
  if (j < len && (p[j] == '{' || p[j] == '[')) return "JSON text";
  return NULL;
}
