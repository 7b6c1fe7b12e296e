/* Helpers shared by the nn tests: building small networks and checking
 * their three passes against finite differences. */
#ifndef EBM_NN_TESTUTIL_H
#define EBM_NN_TESTUTIL_H

#include "test.h"

/* Builds `json` for `batch` items and initialises it from `seed`
 * (REQUIREs success). */
ebm_net *nt_build(const char *json, int64_t batch, uint64_t seed);

/* nt_build on the architecture file `path` (relative to the source tree,
 * e.g. "examples/arch/voxelnet-stride1.json"), the file a user passes as
 * --arch @FILE. */
/* The text of a file of the source tree (path relative to it), NUL-ended; free() it. */
char *nt_read_source_file(const char *path);
ebm_net *nt_build_file(const char *path, int64_t batch, uint64_t seed);

/* Adds N(0, (rel·rms)²) noise to every parameter (rms of that parameter,
 * or 0.1 when it is below 1e-3), then refreshes W/σ: makes class tables and
 * the tiny second convs of residual blocks (A.10) non-trivial, so the FD
 * checks see every path. */
void nt_jitter(ebm_net *net, float rel, uint64_t seed);

/* Random inputs U(-1, 1) for n items and random labels (NULL when the net
 * is unconditional); free with free()/ebm_free(). */
float *nt_inputs(const ebm_net *net, int64_t n, uint64_t seed);
int32_t *nt_labels(const ebm_net *net, int64_t n, uint64_t seed);

/* The three passes against finite differences of S = Σ_i w_i E_i along
 * random directions (see nn_testutil.c for the error budget). Each returns
 * the worst relative error found. */
double nt_check_input_grad(ebm_net *net, int64_t n, uint64_t seed);
double nt_check_param_grad(ebm_net *net, int64_t n, uint64_t seed);
/* The same two checks through ebm_net_forward / ebm_net_backward on a
 * network with any output shape: S = Σ_{i,k} w_ik out_ik, with labels and
 * noise levels (nt_sigmas) when the network needs them. */
double nt_check_output_input_grad(ebm_net *net, int64_t n, uint64_t seed);
double nt_check_output_param_grad(ebm_net *net, int64_t n, uint64_t seed);
/* n noise levels σ ∈ [0.05, 2], or NULL when the net takes none (free()). */
float *nt_sigmas(const ebm_net *net, int64_t n, uint64_t seed);
/* energy, grad_input and backward_params agree on E; grad_input leaves
 * param grads untouched; backward_params accumulates. */
void nt_check_pass_consistency(ebm_net *net, int64_t n, uint64_t seed);
/* The energy checks on the architecture `json` for n items at FD step
 * `step`: built with `seed`, parameters jittered (so no weight sits at its
 * initial symmetric value), then pass consistency, the input gradient and
 * the parameter gradient against finite differences. */
void nt_check_energy_fd(const char *json, int64_t n, uint64_t seed, double step);
/* Layer `index` has this type, folded output shape [a, b, c] (c = 0: [a])
 * and parameter count. */
void nt_check_layer(const ebm_net *net, int index, const char *type, int64_t a, int64_t b, int64_t c,
                    int64_t params);

/* A point-cloud energy `json` on 3 clouds of 128 points (labels of every
 * class when it has classes, noise levels when it takes them): energies bit-identical and input gradients
 * moving bit for bit with their points under a reversal and a random
 * shuffle of the points. */
void nt_check_exactly_invariant_to_point_order(const char *json, uint64_t seed);

/* Default tolerance of the FD checks (relative). */
#define NT_FD_TOL 2e-3
/* The step h of the checks (2e-2 unless a test sets it). */
extern double nt_fd_step;

#endif
