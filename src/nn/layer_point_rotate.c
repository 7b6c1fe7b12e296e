/* point_rotate: a cloud turned by a rotation the network predicts, so a
 * generator's z can set the orientation of what it draws (issue 15: every
 * generator before drew every sample in one orientation, while the data's
 * shapes come in random rotations). Input 1×(P+2)×3: rows 0 and 1 are two
 * 3-vectors a, b, mapped to a rotation R by Gram–Schmidt — the continuous
 * 6-D representation of Zhou et al. 2019 (e1 = a/|a|, e2 = the normalised
 * part of b orthogonal to e1, e3 = e1 × e2, R's rows) — and rows 2… the P
 * points of a draft. Output 1×P×3: each draft point times R, so the
 * cloud's shape (every pairwise distance) is the draft's and only its
 * orientation depends on a and b. PyTorch:
 *   e1 = F.normalize(a, dim=-1); e2 = F.normalize(b - (e1*b).sum(-1, keepdim=True)*e1, dim=-1)
 *   R = torch.stack([e1, e2, torch.cross(e1, e2, dim=-1)], -2); y = draft @ R
 * on x (B, 1, P+2, 3), a = x[:, 0, 0], b = x[:, 0, 1], draft = x[:, 0, 2:].
 * No parameters; kernels in ops/points.h (R and its gradient in double). */
#include "nn/nn_internal.h"
#include "ops/points.h"

static const layer_key point_rotate_keys[] = {LK_END};

static ebm_status point_rotate_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                     const char *where) {
  (void)net, (void)ls, (void)sz;
  char buf[64];
  if (l->in_ndim != 3 || l->in_shape[0] != 1 || l->in_shape[1] < 3 || l->in_shape[2] != 3)
    return ebm_set_error(EBM_ERR_ARG,
                         "architecture: %s needs 1×(P+2)×3 — rows 0 and 1 the rotation's two vectors a, b, "
                         "then P ≥ 1 points — got %s", where, ebm_shape_str(l->in_ndim, l->in_shape, buf, sizeof buf));
  l->out_shape[0] = 1;
  l->out_shape[1] = l->in_shape[1] - 2;
  l->out_shape[2] = 3;
  l->flops = 9.0 * (double)l->out_shape[1] + 30.0;
  return EBM_OK;
}

// x is (n, 1, P + 2, 3); l->out is (n, 1, P, 3)
static void point_rotate_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)net, (void)cond;
  ebm_point_rotate_forward(n, l->out_shape[1], x, l->out);
}

// dy is (n, 1, P, 3); dx is (n, 1, P + 2, 3)
static const float *point_rotate_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                          const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx) ebm_point_rotate_backward(n, l->out_shape[1], l->in, dy, dx);
  return dx;
}

static void point_rotate_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "%lld points turned by the rotation of rows 0, 1 (Gram-Schmidt)", (long long)l->out_shape[1]);
}

const layer_kind layer_point_rotate = {"point_rotate", point_rotate_keys, 0, 0, point_rotate_build, NULL,
                                       point_rotate_forward, point_rotate_backward, point_rotate_detail,
                                       layer_per_item, NULL};
