/* The swish and sigmoid kernels of every path (swish_simd.c: portable
 * vector C on generic, AVX2 intrinsics for the swish on avx2, the scalar
 * loop on avx512) against vmath.h's scalar definitions, bit for bit, over a
 * sweep of float bit patterns: a stride through all 2^32, and every pattern near the places
 * where the arithmetic changes (the exp's clamp at ±87.3, zero and the
 * denormals, the smallest normal, ±inf and the NaNs, 1). */
#include "ops/swish_simd.h"
#include "ops/vmath.h"
#include "ops_testutil.h"

enum { CHUNK = 65536 + 3 }; /* not a multiple of any vector width: a tail every chunk */

typedef struct {
  float *x, *dy, *y, *dx, *y2, *gate, *y3, *dx3, *sig, *dsig;
  int64_t n, checked, wrong;
  uint32_t first_wrong; /* bits of the first input that differed */
} sweep;

static int same_bits(float a, float b) {
  /* a NaN's sign and payload depend on operand order, not on the formula */
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Runs the kernels on the buffered inputs and compares every output. */
static void sweep_flush(sweep *s) {
  const int64_t n = s->n;
  if (n == 0) return;
  const ebm_ops *ops = ebm_ops_cpu();
  ops_swish_array(n, s->x, s->y);
  ops_swish_grad_array(n, s->x, s->dy, s->dx);
  ops_swish_gate_array(n, s->x, s->y2, s->gate);
  ops->swish_forward(n, s->x, s->y3); /* the table's entries (blocks shared by the pool) */
  ops->swish_backward(n, s->x, s->dy, s->dx3);
  ops->sigmoid_forward(n, s->x, s->sig);
  ops->sigmoid_backward(n, s->x, s->dy, s->dsig);
  for (int64_t i = 0; i < n; i++) {
    const float x = s->x[i], want = ops_swish(x), want_grad = ops_swish_grad(x);
    const float want_dx = s->dy[i] * want_grad, sig = ops_sigmoid(x);
    const float want_dsig = s->dy[i] * sig * (1.0f - sig); /* eltwise_cpu.c's σ' */
    const int ok = same_bits(s->y[i], want) && same_bits(s->dx[i], want_dx) &&
                   same_bits(s->y2[i], want) && same_bits(s->gate[i], want_grad) &&
                   same_bits(s->dy[i] * s->gate[i], want_dx) && same_bits(s->y3[i], want) &&
                   same_bits(s->dx3[i], want_dx) && same_bits(s->sig[i], sig) &&
                   same_bits(s->dsig[i], want_dsig);
    if (!ok && s->wrong++ == 0) memcpy(&s->first_wrong, &x, sizeof x);
  }
  s->checked += n;
  s->n = 0;
}

static void sweep_add(sweep *s, uint32_t bits) {
  memcpy(&s->x[s->n++], &bits, sizeof bits);
  if (s->n == CHUNK) sweep_flush(s);
}

/* Every bit pattern within `radius` of `center` (wrapping). */
static void sweep_around(sweep *s, uint32_t center, uint32_t radius) {
  for (uint32_t d = 0; d <= 2 * radius; d++) sweep_add(s, center - radius + d);
}

static void sweep_around_float(sweep *s, float center, uint32_t radius) {
  uint32_t bits;
  memcpy(&bits, &center, sizeof bits);
  sweep_around(s, bits, radius);
}

/* The whole sweep on the active path; returns the inputs checked. */
static int64_t sweep_active_path(void) {
  sweep s = {.x = nan_floats(CHUNK), .dy = rand_floats(CHUNK, 5, -2.0f, 2.0f),
             .y = nan_floats(CHUNK), .dx = nan_floats(CHUNK), .y2 = nan_floats(CHUNK),
             .gate = nan_floats(CHUNK), .y3 = nan_floats(CHUNK), .dx3 = nan_floats(CHUNK),
             .sig = nan_floats(CHUNK), .dsig = nan_floats(CHUNK)};
  /* a stride through every pattern: both signs, every exponent, NaNs and infinities */
  for (uint64_t u = 0; u < (1ull << 32); u += 4093) sweep_add(&s, (uint32_t)u);
  sweep_around_float(&s, -87.3f, 1u << 15); /* the exp's clamp (σ's argument is −|x|) */
  sweep_around_float(&s, 87.3f, 1u << 15);
  sweep_around_float(&s, 0.0f, 1u << 14); /* zero, the smallest denormals of both signs */
  sweep_around(&s, 0x00800000u, 1u << 12);  /* the smallest normal */
  sweep_around(&s, 0x80800000u, 1u << 12);
  sweep_around(&s, 0x7f800000u, 1u << 12); /* +inf, the largest floats, the first NaNs */
  sweep_around(&s, 0xff800000u, 1u << 12);
  sweep_around(&s, 0x7fc00000u, 64);        /* the quiet NaN */
  sweep_around_float(&s, 1.0f, 1u << 12);
  sweep_around_float(&s, -1.0f, 1u << 12);
  sweep_flush(&s);
  if (s.wrong)
    printf("    %s: %lld of %lld inputs differ, first 0x%08x\n", ebm_isa_name(ebm_isa_active()),
           (long long)s.wrong, (long long)s.checked, s.first_wrong);
  CHECK_EQ_INT(s.wrong, 0);
  free(s.x), free(s.dy), free(s.y), free(s.dx), free(s.y2), free(s.gate), free(s.y3), free(s.dx3);
  free(s.sig), free(s.dsig);
  return s.checked;
}

TEST(swish_and_sigmoid_kernels_equal_the_scalar_definitions_over_a_sweep_of_float_bits_on_every_path) {
  int paths = 0;
  for (int i = 0; i <= EBM_ISA_AVX512; i++) {
    if (!ebm_isa_supported((ebm_isa)i)) continue;
    REQUIRE_OK(ebm_isa_select((ebm_isa)i));
    int64_t checked = sweep_active_path();
    CHECK(checked > 1000000);
    printf("    %s: %lld inputs\n", ebm_isa_name((ebm_isa)i), (long long)checked);
    paths++;
  }
  CHECK(paths >= 1);
  REQUIRE_OK(ebm_isa_select(ebm_isa_best()));
}
