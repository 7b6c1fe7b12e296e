/* A small MLP (3 → 8 → 8 → 1, swish) computed again in double precision:
 * the reference the estimator tests differentiate by central differences
 * in every parameter (test_icd.c, test_score.c). */
#ifndef EBM_TEST_MLP_REF_H
#define EBM_TEST_MLP_REF_H

#include "test.h"

enum { REF_D = 3, REF_H = 8 };
/* The parameters in double, in one vector: W0 (H×D), b0, W1 (H×H), b1, W2 (1×H), b2. */
enum { REF_W0 = 0, REF_B0 = REF_W0 + REF_H * REF_D, REF_W1 = REF_B0 + REF_H, REF_B1 = REF_W1 + REF_H * REF_H,
       REF_W2 = REF_B1 + REF_H, REF_B2 = REF_W2 + REF_H, REF_NTHETA = REF_B2 + 1 };

/* The same network for ebm_net_new. */
extern const char *const ref_mlp_json;

/* E(x) and, when gx is not NULL, ∇ₓE, in double. */
double ref_mlp_energy(const double *th, const double *x, double *gx);
/* The network's parameters into theta (REF_NTHETA). */
void ref_mlp_theta(ebm_net *net, double *theta);
/* max |grad − ref| over the network's accumulated parameter gradients. */
double ref_mlp_grad_error(ebm_net *net, const double *ref);

#endif
