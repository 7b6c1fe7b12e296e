/* libFuzzer: the short texts a user types as flag values, through their
 * parsers; the first byte picks which, the rest is the text:
 *   0  an energy spec (`ebm sample --energy`, `ebm compose`'s terms; bit 4 of
 *      the byte allows :weight= and :temp=), freed after a failure too;
 *   1  a flow's layers (`--flow couplings=8,hidden=64,...`): what parses,
 *      formatted and parsed again, formats to the same text;
 *   2  an augmentation list (`--augment flip,shift,noise`): the same.
 * A refusal always leaves a message. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *text = fuzz_text(data + 1, size - 1);
  if (!text) return 0;
  switch (data[0] % 3) {
    case 0: {
      ebm_energy_spec spec;
      memset(&spec, 0, sizeof spec);
      ebm_status s = ebm_energy_spec_parse(text, (data[0] & 16) ? EBM_SPEC_TERM : 0, &spec);
      fuzz_check_message(s);
      if (s == EBM_OK) {
        FUZZ_CHECK(spec.name && spec.name[0]);
        if (spec.kind == EBM_SOURCE_GAUSSIAN) FUZZ_CHECK(spec.dim >= 1 && spec.dim <= EBM_SPEC_MAX_DIM);
        if (spec.mean) fuzz_touch(spec.mean, (size_t)spec.dim * sizeof *spec.mean);
      }
      ebm_energy_spec_free(&spec);
      break;
    }
    case 1: {
      ebm_flow_spec spec = ebm_flow_spec_defaults(), again = ebm_flow_spec_defaults();
      ebm_status s = ebm_flow_spec_parse(text, &spec);
      fuzz_check_message(s);
      if (s == EBM_OK) {
        char once[256], twice[256];
        ebm_flow_spec_format(&spec, once, sizeof once);
        FUZZ_CHECK(ebm_flow_spec_parse(once, &again) == EBM_OK);
        ebm_flow_spec_format(&again, twice, sizeof twice);
        FUZZ_CHECK(strcmp(once, twice) == 0);
      }
      break;
    }
    default: {
      unsigned mask = 0, again = 0;
      ebm_status s = ebm_augment_parse(text, &mask);
      fuzz_check_message(s);
      if (s == EBM_OK) {
        char once[64];
        FUZZ_CHECK(mask <= EBM_AUGMENT_ALL);
        FUZZ_CHECK(ebm_augment_parse(ebm_augment_text(mask, once, sizeof once), &again) == EBM_OK && again == mask);
      }
      break;
    }
  }
  free(text);
  return 0;
}
