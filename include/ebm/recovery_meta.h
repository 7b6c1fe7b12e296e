/* ebm/recovery_meta.h — a recovery-likelihood model's schedule in its
 * checkpoint, and its level-0 marginal energy (src/sample/recovery_meta.c).
 * Include <ebm.h> first (ebm_recovery_config is in ebm/sample.h).
 *
 * `ebm train --method recovery` writes the schedule under metadata
 * EBM_RECOVERY_META_KEY as the text of ebm_recovery_config_format
 * ("levels=4,sigma-min=0.1,sigma-max=1,steps=30,step=0.1"; the range is
 * not stored), so `ebm sample --ckpt M` and `ebm eval nll` need no flags. */
#ifndef EBM_RECOVERY_META_H
#define EBM_RECOVERY_META_H

#include "ebm/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EBM_RECOVERY_META_KEY "recovery"
/* `ebm train --method dsm --levels T` (T > 1) writes its levels the same
 * way under this key, with ",denoise=1": the model is sampled by annealed
 * Langevin dynamics (kind EBM_LEVELS_ANNEALED). */
#define EBM_ANNEALED_META_KEY "annealed-langevin"

/* The text form of a schedule (into buf). */
const char *ebm_recovery_config_format(const ebm_recovery_config *cfg, char *buf, size_t size);
/* Reads such text over *cfg: EBM_ERR_FORMAT naming a bad key or value,
 * *cfg untouched then. */
ebm_status ebm_recovery_config_parse(const char *text, ebm_recovery_config *cfg);
/* The schedule of the checkpoint at path over *cfg (its range kept) and
 * *found = 1, kind EBM_LEVELS_RECOVERY under EBM_RECOVERY_META_KEY or
 * EBM_LEVELS_ANNEALED under EBM_ANNEALED_META_KEY (denoise 1 unless the
 * text says 0); a checkpoint without one leaves *cfg with *found = 0. A bad
 * schedule is an error naming the file. */
ebm_status ebm_recovery_config_from_checkpoint(const char *path, ebm_recovery_config *cfg, int *found);
/* The level-0 marginal of a recovery model: E0(x) = E(x, σ = s_1), the
 * energy of the data level (p(x_0 | x_1) ∝ exp(−E(x_0, s_1) − ‖x_1 − x_0‖²/2s_1²):
 * its x_0-only part). Borrows inner, which must be noise-conditioned
 * (EBM_ERR_ARG otherwise); free with ebm_energy_free. */
ebm_status ebm_recovery_level0_energy(const ebm_energy *inner, const ebm_recovery_config *cfg, ebm_energy **out);

#ifdef __cplusplus
}
#endif
#endif
