/* ebm/grid_nll.h — exact likelihoods of 2-D energies by quadrature
 * (DESIGN §7: "estimators checked end to end on 2-D data with exact
 * likelihoods"). Include <ebm.h>.
 *
 * For an energy on R² the normaliser Z = ∫ exp(−E(x)) dx is computed by the
 * midpoint rule on a cells×cells grid over the box [−extent, extent]²
 * (the toys keep all but 1e-9 of their mass inside [−4, 4]², and a trained
 * model's samplers clamp to that box, so the box is the model's support):
 *   log Z ≈ log Σ_k exp(−E(c_k)) + 2·log h,   h = 2·extent / cells,
 * summed in double with the maximum factored out. For a smooth E the error
 * is O(h²); 512 cells (h ≈ 0.016 on the toys' box) resolves the toys'
 * narrowest features (σ = 0.1) to better than 1e-3 nats. */
#ifndef EBM_GRID_NLL_H
#define EBM_GRID_NLL_H

#include "ebm/core.h"
#include "ebm/data.h"
#include "ebm/energy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EBM_GRID_CELLS 512

/* log Z of exp(−E(·, label)) over [−extent, extent]² (label −1 for an
 * unconditional energy). The energy must take 2-D items (EBM_ERR_SHAPE
 * otherwise); a non-finite energy anywhere on the grid is EBM_ERR_NUMERIC
 * naming the point. cells in 2..8192. */
ebm_status ebm_grid_log_z(const ebm_energy *en, int32_t label, double extent, int cells,
                          double *log_z);

/* The exact negative log-likelihood, in nats, of n points x (n×2):
 *   unconditional: nll = mean_i E(x_i) + log Z;
 *   conditional:   the marginal p(x) = Σ_c π_c exp(−E(x, c)) / Z_c with
 *                  π the label frequencies of y (uniform when y is NULL),
 *                  nll = −mean_i log p(x_i).
 * Points outside the box have zero model density: +inf. log_z (may be
 * NULL) receives one value per class (one when unconditional). */
ebm_status ebm_grid_nll(const ebm_energy *en, const float *x, const int32_t *y, int64_t n,
                        double extent, int cells, double *nll, double *log_z);

/* The normalised model density exp(−E)/Z at the centres of a cells×cells
 * grid, row 0 at the top (second coordinate = +extent), column 0 at the
 * left: density[r·cells + c]. label −1 on a conditional energy gives the
 * marginal with equal class weights. */
ebm_status ebm_grid_density(const ebm_energy *en, int32_t label, double extent, int cells,
                            double *density);

/* The same picture of a toy's exact density (ebm_toy_log_density). */
ebm_status ebm_grid_toy_density(ebm_toy toy, double extent, int cells, double *density);

/* KL(histogram ‖ toy) on the same grid: the n samples' histogram p over
 * the cells of [−extent, extent]² against the toy's density at the cell
 * centres normalised to q, Σ p·log(p/q) (0 = the toy's shape; a model
 * that drops modes or spreads mass between them scores higher). Samples
 * outside the grid are left out and counted in *outside (may be NULL). */
ebm_status ebm_grid_sample_kl(const float *xy, int64_t n, ebm_toy toy, double extent, int cells,
                              double *kl, int64_t *outside);

/* Draws density panels (each cells×cells, laid out as above) side by side
 * as one PNG, white = 0 to blue = the largest value over all panels (one
 * colour scale, so panels compare), with an 8-pixel gap. Points (n×2, may
 * be NULL) are red dots on the first panel. */
ebm_status ebm_grid_png(const char *path, int cells, int npanels, const double *const *panels,
                        double extent, const float *points, int64_t npoints);

#ifdef __cplusplus
}
#endif
#endif
