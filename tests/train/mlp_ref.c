/* The double-precision reference MLP of mlp_ref.h. */
#include "train/mlp_ref.h"

const char *const ref_mlp_json =
    "{\"input\": [3], \"layers\": ["
    "{\"type\": \"linear\", \"name\": \"l0\", \"out\": 8}, {\"type\": \"swish\"},"
    "{\"type\": \"linear\", \"name\": \"l1\", \"out\": 8}, {\"type\": \"swish\"},"
    "{\"type\": \"linear\", \"name\": \"l2\", \"out\": 1}]}";

static const char *const param_names[6] = {"l0.weight", "l0.bias", "l1.weight", "l1.bias", "l2.weight", "l2.bias"};
static const int param_offsets[6] = {REF_W0, REF_B0, REF_W1, REF_B1, REF_W2, REF_B2};

static ebm_param *param_named(ebm_net *net, const char *name) {
  for (int i = 0; i < ebm_net_param_count(net); i++)
    if (strcmp(ebm_net_param(net, i)->name, name) == 0) return ebm_net_param(net, i);
  REQUIRE(!"parameter not found");
  return NULL;
}

static double sigm(double a) { return 1.0 / (1.0 + exp(-a)); }
static double swish(double a) { return a * sigm(a); }
static double swish_d(double a) { return sigm(a) * (1.0 + a * (1.0 - sigm(a))); }

double ref_mlp_energy(const double *th, const double *x, double *gx) {
  double a0[REF_H], h0[REF_H], a1[REF_H], h1[REF_H], e = th[REF_B2];
  for (int o = 0; o < REF_H; o++) {
    a0[o] = th[REF_B0 + o];
    for (int k = 0; k < REF_D; k++) a0[o] += th[REF_W0 + o * REF_D + k] * x[k];
    h0[o] = swish(a0[o]);
  }
  for (int o = 0; o < REF_H; o++) {
    a1[o] = th[REF_B1 + o];
    for (int k = 0; k < REF_H; k++) a1[o] += th[REF_W1 + o * REF_H + k] * h0[k];
    h1[o] = swish(a1[o]);
    e += th[REF_W2 + o] * h1[o];
  }
  if (gx) {
    double da1[REF_H], da0[REF_H];
    for (int o = 0; o < REF_H; o++) da1[o] = th[REF_W2 + o] * swish_d(a1[o]);
    for (int k = 0; k < REF_H; k++) {
      double s = 0;
      for (int o = 0; o < REF_H; o++) s += th[REF_W1 + o * REF_H + k] * da1[o];
      da0[k] = s * swish_d(a0[k]);
    }
    for (int k = 0; k < REF_D; k++) {
      double s = 0;
      for (int o = 0; o < REF_H; o++) s += th[REF_W0 + o * REF_D + k] * da0[o];
      gx[k] = s;
    }
  }
  return e;
}

void ref_mlp_theta(ebm_net *net, double *theta) {
  for (int p = 0; p < 6; p++) {
    ebm_param *par = param_named(net, param_names[p]);
    for (int64_t k = 0; k < ebm_tensor_numel(par->value); k++) theta[param_offsets[p] + k] = par->value->data[k];
  }
}

double ref_mlp_grad_error(ebm_net *net, const double *ref) {
  double worst = 0;
  for (int p = 0; p < 6; p++) {
    ebm_param *par = param_named(net, param_names[p]);
    for (int64_t k = 0; k < ebm_tensor_numel(par->grad); k++)
      worst = fmax(worst, fabs(par->grad->data[k] - ref[param_offsets[p] + k]));
  }
  return worst;
}
