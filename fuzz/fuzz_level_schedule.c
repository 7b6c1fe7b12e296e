/* libFuzzer: any bytes as the noise-level schedule a checkpoint records
 * (metadata "recovery" or "annealed-langevin") through
 * ebm_recovery_config_parse. A parse either fails with a message or gives
 * a config that, once it passes ebm_recovery_config_check, formats and
 * parses back to the same values. */
#include <string.h>

#include "ebm/recovery_meta.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char text[300];
  if (size >= sizeof text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  for (int kind = 0; kind < 2; kind++) {
    ebm_recovery_config c = {.levels = 1, .sigma_min = 0.1f, .sigma_max = 1, .steps = 1, .step = 0.1f,
                             .kind = (ebm_levels_kind)kind};
    ebm_status s = ebm_recovery_config_parse(text, &c);
    fuzz_check_message(s);
    if (s != EBM_OK) continue;
    s = ebm_recovery_config_check(&c);
    fuzz_check_message(s);
    if (s != EBM_OK) continue;
    char again[256];
    ebm_recovery_config back = {.kind = c.kind};
    FUZZ_CHECK(ebm_recovery_config_parse(ebm_recovery_config_format(&c, again, sizeof again), &back) == EBM_OK);
    FUZZ_CHECK(back.levels == c.levels && back.sigma_min == c.sigma_min && back.sigma_max == c.sigma_max &&
               back.steps == c.steps && back.step == c.step && (kind == 0 || back.denoise == c.denoise));
  }
  return 0;
}
