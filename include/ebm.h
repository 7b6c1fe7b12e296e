/* ebm.h — libebm, energy-based generative models in C11.
 *
 * An energy-based model is a network E(x) (or E(x, y) for a class y) that
 * defines a density p(x) ∝ exp(−E(x)): low energy means likely. It is
 * trained by maximum likelihood, pushing energy down on data and up on
 * samples drawn from the model itself by MCMC (Langevin dynamics, MALA,
 * HMC), which are kept in a replay buffer between steps (Du & Mordatch,
 * "Implicit Generation and Generalization with Energy-Based Models", 2019).
 * A trained model scores data (anomaly / out-of-distribution detection),
 * generates it, fills in missing parts, and composes with other models by
 * adding energies.
 *
 * Conventions (DESIGN.md §1):
 *   - tensors are float32, row-major, NCHW for images, N×D for vectors;
 *   - images are in [0, 1] unless a model says otherwise;
 *   - every fallible call returns an ebm_status (0 = ok, negative = error)
 *     and leaves a message in ebm_last_error() naming the file, tensor or
 *     argument at fault; the library never prints or exits;
 *   - whoever calls ebm_x_new calls ebm_x_free; _free accepts NULL;
 *   - randomness comes from an ebm_rng (Philox), so a run is reproducible
 *     for a given seed and thread count.
 *
 * The headers below follow the library's layers, lowest first.
 *   ebm/core.h    status, tensors, RNG, thread pool, progress bar
 *   ebm/dist.h    data parallelism over MPI ranks: fixed batch slices, ordered sums
 *   ebm/io.h      safetensors, .npy, idx(.gz), PNG, JSON Lines, atomic writes
 *   ebm/data.h    data set specs, 2-D toys with exact densities, batching
 *   ebm/energy.h  the energy interface every sampler and evaluator uses
 *   ebm/nn.h      networks: layers, presets, spectral norm, Adam, checkpoints
 *   ebm/sample.h  Langevin, MALA, HMC, kinetic Langevin, annealing, replay buffer
 *   ebm/grid_nll.h  exact 2-D likelihoods and density pictures by quadrature
 *   ebm/eval.h    AIS log Z / likelihood (both bounds), OOD metrics, FD / KID, classifier
 *   ebm/train.h   training (PCD / short-run / CD-k), run directories, resume
 *   ebm/compose.h AND / OR / AND NOT of energies, fixed labels, inpainting, corruptions
 *   ebm/report.h  a run directory as one self-contained HTML page (plots, samples, config)
 *   ebm/points.h  point clouds: synthetic shapes, Chamfer distance and EMD, projections
 *   ebm/plan.h    a 2-D particle world, its transitions, planning by Langevin on their energy
 *   ebm/texture.h a texture model learned from one image, sampled at any size
 *   ebm/data_volumes.h  synthetic videos (moving items) and voxel shapes
 */
#ifndef EBM_H
#define EBM_H

#include "ebm/core.h"
#include "ebm/dist.h"
#include "ebm/io.h"
#include "ebm/data.h"
#include "ebm/energy.h"
#include "ebm/nn.h"
#include "ebm/sample.h"
#include "ebm/grid_nll.h"
#include "ebm/eval.h"
#include "ebm/flow.h"
#include "ebm/train.h"
#include "ebm/compose.h"
#include "ebm/report.h"
#include "ebm/points.h"
#include "ebm/plan.h"
#include "ebm/texture.h"
#include "ebm/data_volumes.h"

/* The library version, "MAJOR.MINOR.PATCH". */
const char *ebm_version(void);

#endif
