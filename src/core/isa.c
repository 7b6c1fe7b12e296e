/* Which instruction-set path the hand-written kernels take: the best one the
 * CPU supports (cpuid), or the one EBM_ISA names, so that every path can be
 * tested and benchmarked on any machine that has it. The choice is a
 * process-wide setting like the pool size (read by the ops table and the
 * RNG fills), not per-call state. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/core.h"

static const char *const isa_names[] = {"generic", "avx2", "avx512"};
#define ISA_COUNT ((int)(sizeof isa_names / sizeof isa_names[0]))

/* -1: not chosen yet (the first ebm_isa_active reads EBM_ISA). */
static atomic_int active_isa = -1;

const char *ebm_isa_name(ebm_isa isa) {
  return isa >= 0 && (int)isa < ISA_COUNT ? isa_names[isa] : "unknown";
}

int ebm_isa_supported(ebm_isa isa) {
  switch (isa) {
  case EBM_ISA_GENERIC: return 1;
#if defined(__x86_64__) && defined(__GNUC__)
  case EBM_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case EBM_ISA_AVX512: return __builtin_cpu_supports("avx512f");
#endif
  default: return 0;
  }
}

ebm_isa ebm_isa_best(void) {
  for (int i = ISA_COUNT - 1; i > 0; i--)
    if (ebm_isa_supported((ebm_isa)i)) return (ebm_isa)i;
  return EBM_ISA_GENERIC;
}

/* "avx2, generic": the paths this CPU supports, best first. */
static void supported_list(char *buf, size_t size) {
  buf[0] = '\0';
  for (int i = ISA_COUNT - 1; i >= 0; i--)
    if (ebm_isa_supported((ebm_isa)i)) {
      if (buf[0]) strncat(buf, ", ", size - strlen(buf) - 1);
      strncat(buf, isa_names[i], size - strlen(buf) - 1);
    }
}

ebm_status ebm_isa_parse(const char *name, ebm_isa *out) {
  char list[64];
  supported_list(list, sizeof list);
  for (int i = 0; i < ISA_COUNT; i++)
    if (strcmp(name, isa_names[i]) == 0) {
      if (!ebm_isa_supported((ebm_isa)i))
        return ebm_set_error(EBM_ERR_UNSUPPORTED, "EBM_ISA=%s: this CPU lacks %s (it supports: %s)",
                             name, i == EBM_ISA_AVX2 ? "AVX2+FMA" : "AVX-512F", list);
      *out = (ebm_isa)i;
      return EBM_OK;
    }
  return ebm_set_error(EBM_ERR_ARG, "EBM_ISA=%s: unknown path (expected avx512, avx2 or generic; this CPU supports: %s)",
                       name, list);
}

/* The path EBM_ISA asks for (the best one when it is unset or empty). */
static ebm_status isa_from_env(ebm_isa *out) {
  *out = ebm_isa_best();
  const char *env = getenv("EBM_ISA");
  if (!env || !*env) return EBM_OK;
  return ebm_isa_parse(env, out);
}

ebm_status ebm_isa_init(void) {
  ebm_isa isa;
  ebm_status st = isa_from_env(&isa);
  atomic_store(&active_isa, (int)isa); /* the best path when EBM_ISA is bad */
  return st;
}

ebm_isa ebm_isa_active(void) {
  int isa = atomic_load_explicit(&active_isa, memory_order_relaxed);
  if (isa >= 0) return (ebm_isa)isa;
  ebm_isa chosen;
  if (isa_from_env(&chosen) != EBM_OK) ebm_clear_error(); /* best path; ebm_isa_init reports */
  atomic_store(&active_isa, (int)chosen);
  return chosen;
}

ebm_status ebm_isa_select(ebm_isa isa) {
  if (!ebm_isa_supported(isa)) {
    char list[64];
    supported_list(list, sizeof list);
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "ISA path %s: not supported by this CPU (it supports: %s)",
                         ebm_isa_name(isa), list);
  }
  atomic_store(&active_isa, (int)isa);
  return EBM_OK;
}
