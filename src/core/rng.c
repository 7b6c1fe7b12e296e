/* Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC'11). Counter-based: block k of a stream is a pure function of
 * (seed, k), so fills can be split across threads without changing the
 * numbers, and the state is just (seed, counter). */
#include <math.h>

#include "core/box_muller.h"
#include "ebm/core.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
/* Below this many elements a fill runs on the calling thread. */
#define RNG_PARALLEL_MIN_BLOCKS 4096

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
  uint64_t p = (uint64_t)a * b;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

void ebm_philox4x32(uint64_t key, uint64_t counter_hi, uint64_t counter_lo, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter_lo, c1 = (uint32_t)(counter_lo >> 32);
  uint32_t c2 = (uint32_t)counter_hi, c3 = (uint32_t)(counter_hi >> 32);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int round = 0; round < 10; round++) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(PHILOX_M0, c0, &hi0, &lo0);
    mulhilo(PHILOX_M1, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* Streams made by ebm_rng_split use counter_hi = stream + 1, so they never
 * meet the parent's blocks (counter_hi = 0). */
static inline void rng_block(const ebm_rng *rng, uint64_t block, uint32_t out[4]) {
  ebm_philox4x32(rng->seed, 0, block, out);
}

void ebm_rng_init(ebm_rng *rng, uint64_t seed) {
  rng->seed = seed;
  rng->counter = 0;
}

ebm_rng ebm_rng_split(const ebm_rng *rng, uint64_t stream) {
  uint32_t r[4];
  ebm_philox4x32(rng->seed, stream + 1, 0, r);
  ebm_rng child = {((uint64_t)r[1] << 32) | r[0], 0};
  return child;
}

static inline float u32_to_unit(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }

typedef struct {
  const ebm_rng *rng;
  uint64_t base;
  float *out;
  int64_t n;
  float a, b; /* uniform: lo, hi - lo; normal: mean, std */
} fill_job;

/* The ten Philox rounds of rng_block on vectors of counters c0..c3, key
 * words k0, k1 (updated), multipliers m0, m1 — one definition for every
 * width, so every path computes exactly the scalar rounds. */
#define PHILOX_ROUNDS(vec, mulhi, mullo, xor, set1)                                              \
  for (int round = 0; round < 10; round++) {                                                    \
    vec hi0 = mulhi(c0, m0), lo0r = mullo(c0, m0);                                              \
    vec hi1 = mulhi(c2, m1), lo1 = mullo(c2, m1);                                               \
    vec n0 = xor(xor(hi1, c1), set1((int)k0));                                                  \
    vec n2 = xor(xor(hi0, c3), set1((int)k1));                                                  \
    c0 = n0;                                                                                    \
    c1 = lo1;                                                                                   \
    c2 = n2;                                                                                    \
    c3 = lo0r;                                                                                  \
    k0 += PHILOX_W0;                                                                            \
    k1 += PHILOX_W1;                                                                            \
  }

/* Philox blocks VEC_LANES at a time in portable vector C (core/vec.h; the
 * generic path): the same integer arithmetic as rng_block. The high word of
 * each 32 × 32-bit product: on little-endian targets from the even and the
 * odd lanes seen as 64-bit lanes, masked to 32 bits so that gcc uses the
 * widening multiply (pmuludq, umull) — one per pair of lanes, where 64-bit
 * lanes converted from 32 made it a full 64-bit multiply (three). */
VEC_INLINE vec_u mulhi_vec(vec_u a, vec_u m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  typedef uint64_t vec_u64 __attribute__((vector_size(4 * VEC_LANES)));
  const uint64_t low = 0xffffffffu;
  const vec_u64 a64 = (vec_u64)a, m64 = (vec_u64)m;
  const vec_u64 even = (a64 & low) * (m64 & low), odd = (a64 >> 32) * (m64 >> 32);
  return (vec_u)((even >> 32) | (odd & ~(vec_u64){0} << 32));
#else
  typedef uint64_t vec_u64 __attribute__((vector_size(8 * VEC_LANES)));
  const vec_u64 p = __builtin_convertvector(a, vec_u64) * __builtin_convertvector(m, vec_u64);
  return __builtin_convertvector(p >> 32, vec_u);
#endif
}
#define MULLO_VEC(a, m) ((a) * (m))
#define XOR_VEC(a, b) ((a) ^ (b))
#define SET1_VEC(k) vec_splat_u((uint32_t)(k))

// r[w][lane] = word w of block first + lane, for VEC_LANES consecutive blocks.
VEC_INLINE void rng_blocks_vec(const ebm_rng *rng, uint64_t first, vec_u r[4]) {
  vec_u lane;
  for (int k = 0; k < VEC_LANES; k++) lane[k] = (uint32_t)k;
  /* block = first + lane as 64 bits: low words, carry into the high words */
  const vec_u lo0 = vec_splat_u((uint32_t)first);
  vec_u c0 = lo0 + lane;
  vec_u c1 = vec_splat_u((uint32_t)(first >> 32)) - (vec_u)(c0 < lo0); /* the mask is −1 */
  vec_u c2 = vec_splat_u(0), c3 = vec_splat_u(0);
  const vec_u m0 = vec_splat_u(PHILOX_M0), m1 = vec_splat_u(PHILOX_M1);
  uint32_t k0 = (uint32_t)rng->seed, k1 = (uint32_t)(rng->seed >> 32);
  PHILOX_ROUNDS(vec_u, mulhi_vec, MULLO_VEC, XOR_VEC, SET1_VEC);
  r[0] = c0, r[1] = c1, r[2] = c2, r[3] = c3;
}

/* Philox blocks 16 at a time with AVX-512 (the Langevin noise fill is ~10 %
 * of a training iteration, most of it the scalar Philox rounds): the same
 * integer arithmetic per lane, so the same bits as rng_block. The 32×32 →
 * 64-bit products come from _mm512_mul_epu32 on the even and the odd lanes. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RNG_WIDE 16

__attribute__((target("avx512f"))) static inline __m512i mulhi32(__m512i a, __m512i m) {
  __m512i even = _mm512_srli_epi64(_mm512_mul_epu32(a, m), 32);
  __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  return _mm512_mask_blend_epi32(0xAAAA, even, odd);
}

// r[w][lane] = word w of block first + lane, for 16 consecutive blocks.
__attribute__((target("avx512f"))) static void rng_blocks16(const ebm_rng *rng, uint64_t first,
                                                            uint32_t r[4][RNG_WIDE]) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  /* block = first + lane as 64 bits: low words, carry into the high words */
  const __m512i lo0 = _mm512_set1_epi32((int)(uint32_t)first);
  __m512i c0 = _mm512_add_epi32(lo0, lane);
  __mmask16 carry = _mm512_cmplt_epu32_mask(c0, lo0);
  __m512i c1 = _mm512_mask_add_epi32(_mm512_set1_epi32((int)(uint32_t)(first >> 32)), carry,
                                     _mm512_set1_epi32((int)(uint32_t)(first >> 32)), _mm512_set1_epi32(1));
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0), m1 = _mm512_set1_epi32((int)PHILOX_M1);
  uint32_t k0 = (uint32_t)rng->seed, k1 = (uint32_t)(rng->seed >> 32);
  PHILOX_ROUNDS(__m512i, mulhi32, _mm512_mullo_epi32, _mm512_xor_si512, _mm512_set1_epi32);
  _mm512_storeu_si512(r[0], c0);
  _mm512_storeu_si512(r[1], c1);
  _mm512_storeu_si512(r[2], c2);
  _mm512_storeu_si512(r[3], c3);
}

/* The same 8 blocks at a time with AVX2 (_mm256_mul_epu32 on the even and
 * the odd lanes, as above), into lanes [0, 8) of r; the carry into the high
 * counter word from an unsigned compare made signed by flipping sign bits. */
__attribute__((target("avx2"))) static inline __m256i mulhi32_avx2(__m256i a, __m256i m) {
  __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(a, m), 32);
  __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  return _mm256_blend_epi32(even, odd, 0xAA);
}

__attribute__((target("avx2"))) static void rng_blocks8_avx2(const ebm_rng *rng, uint64_t first,
                                                             uint32_t *r0, uint32_t *r1,
                                                             uint32_t *r2, uint32_t *r3) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lo0 = _mm256_set1_epi32((int)(uint32_t)first), sign = _mm256_set1_epi32(INT32_MIN);
  __m256i c0 = _mm256_add_epi32(lo0, lane);
  __m256i carry = _mm256_cmpgt_epi32(_mm256_xor_si256(lo0, sign), _mm256_xor_si256(c0, sign));
  __m256i c1 = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(first >> 32)), carry);
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0), m1 = _mm256_set1_epi32((int)PHILOX_M1);
  uint32_t k0 = (uint32_t)rng->seed, k1 = (uint32_t)(rng->seed >> 32);
  PHILOX_ROUNDS(__m256i, mulhi32_avx2, _mm256_mullo_epi32, _mm256_xor_si256, _mm256_set1_epi32);
  _mm256_storeu_si256((__m256i *)r0, c0);
  _mm256_storeu_si256((__m256i *)r1, c1);
  _mm256_storeu_si256((__m256i *)r2, c2);
  _mm256_storeu_si256((__m256i *)r3, c3);
}

/* 16 blocks from first on, with the active path's instructions. */
static void rng_blocks16_wide(const ebm_rng *rng, uint64_t first, uint32_t r[4][RNG_WIDE]) {
  if (ebm_isa_active() == EBM_ISA_AVX512) {
    rng_blocks16(rng, first, r);
    return;
  }
  for (int half = 0; half < RNG_WIDE; half += 8)
    rng_blocks8_avx2(rng, first + (uint64_t)half, r[0] + half, r[1] + half, r[2] + half, r[3] + half);
}

static int rng_wide_usable(void) { return ebm_isa_active() != EBM_ISA_GENERIC; }
#else
#define RNG_WIDE 1
static int rng_wide_usable(void) { return 0; }
static void rng_blocks16_wide(const ebm_rng *rng, uint64_t first, uint32_t r[4][RNG_WIDE]) {
  uint32_t b[4];
  rng_block(rng, first, b);
  for (int w = 0; w < 4; w++) r[w][0] = b[w];
}
#endif

/* Block `blk` of the job into r[4]: from the 16-block batch in wide when
 * the batch holds it (refilled as the loop advances), else scalar. */
typedef struct {
  uint32_t r[4][RNG_WIDE];
  int64_t first; /* block index of lane 0, −1 when empty */
} wide_cache;

static inline void job_block(const fill_job *job, int64_t blk, int64_t end, int wide,
                             wide_cache *wc, uint32_t r[4]) {
  if (wide && end - blk >= RNG_WIDE && (wc->first < 0 || blk >= wc->first + RNG_WIDE)) {
    rng_blocks16_wide(job->rng, job->base + (uint64_t)blk, wc->r);
    wc->first = blk;
  }
  if (wc->first >= 0 && blk >= wc->first && blk < wc->first + RNG_WIDE) {
    for (int w = 0; w < 4; w++) r[w] = wc->r[w][blk - wc->first];
  } else {
    rng_block(job->rng, job->base + (uint64_t)blk, r);
  }
}

static void uniform_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const fill_job *job = ctx;
  const int wide = rng_wide_usable();
  wide_cache wc = {.first = -1};
  for (int64_t blk = begin; blk < end; blk++) {
    uint32_t r[4];
    job_block(job, blk, end, wide, &wc, r);
    for (int lane = 0; lane < 4; lane++) {
      int64_t i = blk * 4 + lane;
      if (i < job->n) job->out[i] = job->a + job->b * u32_to_unit(r[lane]);
    }
  }
}

/* Block blk's four normals, a + b·z, into out (the elements below n). */
static inline void normal_block_scalar(const fill_job *job, int64_t blk) {
  uint32_t r[4];
  rng_block(job->rng, job->base + (uint64_t)blk, r);
  float z[4];
  bm_pair(r[0], r[1], &z[0], &z[1]);
  bm_pair(r[2], r[3], &z[2], &z[3]);
  for (int lane = 0; lane < 4; lane++) {
    int64_t i = blk * 4 + lane;
    if (i < job->n) job->out[i] = job->a + job->b * z[lane];
  }
}

#if RNG_WIDE > 1
/* Blocks [blk, blk + 8) with AVX2 given their Philox words r0..r3 (8 blocks
 * each): the same bm_pair arithmetic per lane, then a + b·z, interleaved
 * back to block order (4 floats per block, 32 in all) in registers. */
__attribute__((target("avx2"))) static void normal_blocks8_avx2(const fill_job *job, int64_t blk,
                                                                const uint32_t *r0,
                                                                const uint32_t *r1,
                                                                const uint32_t *r2,
                                                                const uint32_t *r3) {
  __m256 z[4];
  bm_pair8(_mm256_loadu_si256((const __m256i *)r0), _mm256_loadu_si256((const __m256i *)r1), &z[0], &z[1]);
  bm_pair8(_mm256_loadu_si256((const __m256i *)r2), _mm256_loadu_si256((const __m256i *)r3), &z[2], &z[3]);
  const __m256 a = _mm256_set1_ps(job->a), b = _mm256_set1_ps(job->b);
  for (int w = 0; w < 4; w++) z[w] = _mm256_add_ps(a, _mm256_mul_ps(b, z[w]));
  /* z[w][j] is element 4·j + w: a 4 × 8 transpose (blocks j and j + 4 share a u) */
  __m256 t0 = _mm256_unpacklo_ps(z[0], z[1]), t1 = _mm256_unpackhi_ps(z[0], z[1]);
  __m256 t2 = _mm256_unpacklo_ps(z[2], z[3]), t3 = _mm256_unpackhi_ps(z[2], z[3]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  float *out = job->out + blk * 4;
  _mm256_storeu_ps(out + 0, _mm256_permute2f128_ps(u0, u1, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
}
#endif

/* Blocks [blk, blk + VEC_LANES) in portable vector C: the same bm_pair
 * arithmetic per lane, then a + b·z, stored back in block order. */
static void normal_blocks_vec(const fill_job *job, int64_t blk) {
  vec_u r[4];
  rng_blocks_vec(job->rng, job->base + (uint64_t)blk, r);
  vec_f z[4];
  bm_pair_vec(r[0], r[1], &z[0], &z[1]);
  bm_pair_vec(r[2], r[3], &z[2], &z[3]);
  for (int w = 0; w < 4; w++) z[w] = job->a + job->b * z[w];
  vec_store_interleaved4(job->out + blk * 4, z); /* lane j is block blk + j */
}

static void normal_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const fill_job *job = ctx;
  int64_t blk = begin;
#if RNG_WIDE > 1
  /* whole batches of 16 blocks that lie inside the output */
  if (rng_wide_usable())
    for (; blk + RNG_WIDE <= end && (blk + RNG_WIDE) * 4 <= job->n; blk += RNG_WIDE) {
      uint32_t r[4][RNG_WIDE];
      rng_blocks16_wide(job->rng, job->base + (uint64_t)blk, r);
      for (int half = 0; half < RNG_WIDE; half += 8)
        normal_blocks8_avx2(job, blk + half, r[0] + half, r[1] + half, r[2] + half, r[3] + half);
    }
#endif
  if (ebm_isa_active() == EBM_ISA_GENERIC)
    for (; blk + VEC_LANES <= end && (blk + VEC_LANES) * 4 <= job->n; blk += VEC_LANES)
      normal_blocks_vec(job, blk);
  for (; blk < end; blk++) normal_block_scalar(job, blk);
}

static void run_fill(ebm_rng *rng, float *out, int64_t n, float a, float b, ebm_range_fn fn) {
  if (n <= 0) return;
  int64_t blocks = (n + 3) / 4;
  fill_job job = {rng, rng->counter, out, n, a, b};
  ebm_parallel_for(blocks, RNG_PARALLEL_MIN_BLOCKS, fn, &job);
  rng->counter += (uint64_t)blocks;
}

void ebm_rng_normal_part(const ebm_rng *rng, uint64_t counter, int64_t first, float *out, int64_t n,
                         float mean, float std) {
  if (n <= 0) return;
  /* the fill's block first / 4 is this part's block 0 (first % 4 == 0) */
  fill_job job = {rng, counter + (uint64_t)(first / 4), out, n, mean, std};
  normal_blocks(&job, 0, (n + 3) / 4, 0);
}

void ebm_rng_uniform(ebm_rng *rng, float *out, int64_t n, float lo, float hi) {
  run_fill(rng, out, n, lo, hi - lo, uniform_blocks);
}

void ebm_rng_normal(ebm_rng *rng, float *out, int64_t n, float mean, float std) {
  run_fill(rng, out, n, mean, std, normal_blocks);
}

uint32_t ebm_rng_u32(ebm_rng *rng) {
  uint32_t r[4];
  rng_block(rng, rng->counter++, r);
  return r[0];
}

uint32_t ebm_rng_below(ebm_rng *rng, uint32_t bound) {
  /* Lemire's multiply-shift with rejection: unbiased. */
  uint32_t threshold = (uint32_t)(-bound) % bound;
  for (;;) {
    uint64_t m = (uint64_t)ebm_rng_u32(rng) * bound;
    if ((uint32_t)m >= threshold) return (uint32_t)(m >> 32);
  }
}

double ebm_rng_double(ebm_rng *rng) {
  uint32_t r[4];
  rng_block(rng, rng->counter++, r);
  uint64_t bits = ((uint64_t)r[0] << 21) ^ (uint64_t)(r[1] >> 11);
  return (double)(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

double ebm_rng_gauss(ebm_rng *rng) {
  uint32_t r[4];
  rng_block(rng, rng->counter++, r);
  double u1 = ((double)r[0] + 1.0) / 4294967296.0;
  double u2 = (double)r[1] / 4294967296.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void ebm_rng_shuffle(ebm_rng *rng, int64_t *idx, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)ebm_rng_below(rng, (uint32_t)(i + 1));
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
