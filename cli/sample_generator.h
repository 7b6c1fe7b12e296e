/* `ebm sample` on a checkpoint with a generator (sample_generator.c). */
#ifndef EBM_CLI_SAMPLE_GENERATOR_H
#define EBM_CLI_SAMPLE_GENERATOR_H

#include "use_common.h"

typedef struct {
  const char *ckpt, *out, *png;
  const char *space;            /* --space latent|data, or NULL for the model's own */
  int from_generator;           /* --from-generator: G(z) alone */
  const use_sampler_flags *sf;  /* --sampler, --steps, --temperature, --friction, ... */
  int64_t n, seed;
  const char *latents;          /* --latents Z.npy: z from a mixture fitted to these, or NULL */
  int mixture;                  /* --mixture K */
} sample_generator_args;

/* Samples the model of a->ckpt as the flags say and writes them: 0 or an
 * exit code after printing the problem (a checkpoint without a generator
 * is a usage error). */
int sample_generator_run(const char *verb, const sample_generator_args *a);

#endif
