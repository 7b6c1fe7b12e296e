/* ops/conv2d_direct_run_impl.h — internal: a run of fused conv + swish
 * steps (ebm_conv2d_run_step, ops.h) taken one group of LANES items at a
 * time through every step, forward and back; included by
 * conv2d_direct_avx512.c / _avx2.c right after conv2d_direct_impl.h, whose
 * tiles, layout and helpers it uses.
 *
 * Why: step by step over the whole batch, every swish output and every
 * input gradient between two steps is a batch-sized array (uva-cnn: 1.6 MB
 * for the first conv's output at batch 128), written by one step and read
 * back by the next from L3 or memory. Group by group, the forward's swish
 * writes each row of a step's output straight into the interior of the
 * next step's padded input block, and the backward multiplies each row of a
 * step's input gradient by the previous step's gate straight into that
 * step's output-gradient block: both stay in the worker's scratch (L2).
 * Only the gates (which the backward needs) go to batch-sized arrays. The
 * values are computed by the same operations as the chained step-by-step
 * passes: the same bits.
 *
 * Workspace (floats, parts 64-byte aligned): per step its packed weights,
 * once for the forward and once for the backward (so a caller whose weights
 * stay fixed over many passes packs each once: ebm_conv2d_run_step.packed);
 * then per worker two blocks that the steps take in turn — pad (the
 * largest padded input block) and mat (the largest C_out·P·LANES output
 * block): step i's tiles read pad and fill mat, whose swish refills pad as
 * step i + 1's input (forward); step i's tiles read mat and fill pad, whose
 * rows times the gate refill mat for step i − 1 (backward). Two blocks
 * rather than two per step shrink a group's working set with all the
 * weights (uva-cnn: 236 KiB of them) from 842 to 526 KiB on the avx2 path
 * (blocks 162 + 128 KiB; a 512 KiB L2 on Zen 3) and from 1448 to 816 KiB
 * on the avx512 path (1 MiB on Zen 5). Last, zt (the last step's output
 * in NCHW for its swish). */

typedef struct {
  size_t wp[EBM_CONV2D_RUN_MAX], wpb[EBM_CONV2D_RUN_MAX], pad, mat, zt;
  size_t worker, worker_size, total;
} run_layout;

static run_layout run_layout_of(int count, const ebm_conv2d_run_step *steps) {
  run_layout l;
  size_t at = 0, pad_max = 0, mat_max = 0;
  for (int i = 0; i < count; i++) {
    const ebm_conv2d_shape *s = &steps[i].s;
    l.wp[i] = at;
    at += conv_round_up((size_t)(conv_k(s) * s->c_out));
    l.wpb[i] = at;
    at += conv_round_up((size_t)(conv_k(s) * s->c_out));
    const size_t pad = conv_round_up((size_t)padded_floats(s));
    const size_t mat = conv_round_up((size_t)(conv_f_out(s) * LANES));
    if (pad > pad_max) pad_max = pad;
    if (mat > mat_max) mat_max = mat;
  }
  l.worker = at;
  l.pad = 0;
  l.mat = pad_max;
  l.zt = pad_max + mat_max;
  l.worker_size = l.zt + conv_round_up((size_t)(conv_f_out(&steps[count - 1].s) * LANES));
  l.total = l.worker + (size_t)conv_slots(&steps[0].s) * l.worker_size;
  return l;
}

/* Zeroes the padding border of a padded block (its interior is written
 * next): the rows above and below the image, and the columns left and
 * right of each image row. */
static void zero_border(const ebm_conv2d_shape *s, float *xp) {
  const int64_t hp = s->h_in + 2 * s->pad, wp = s->w_in + 2 * s->pad;
  if (s->pad == 0) return;
  const size_t band = (size_t)(s->pad * wp * LANES), side = (size_t)(s->pad * LANES);
  for (int64_t c = 0; c < s->c_in; c++) {
    float *plane = xp + c * hp * wp * LANES;
    memset(plane, 0, band * sizeof *plane);
    memset(plane + (hp - s->pad) * wp * LANES, 0, band * sizeof *plane);
    for (int64_t y = s->pad; y < hp - s->pad; y++) {
      float *r = plane + y * wp * LANES;
      memset(r, 0, side * sizeof *r);
      memset(r + (wp - s->pad) * LANES, 0, side * sizeof *r);
    }
  }
}

size_t DIRECT_FN(ops_conv2d_direct_run_workspace)(int count, const ebm_conv2d_run_step *steps) {
  for (int i = 0; i < count; i++)
    if (!DIRECT_FN(ops_conv2d_direct_usable)(&steps[i].s)) return 0;
  return count > 0 && count <= EBM_CONV2D_RUN_MAX ? run_layout_of(count, steps).total : 0;
}

typedef struct {
  int count;
  const ebm_conv2d_run_step *steps;
  run_layout l; /* of ws, computed once by the caller */
  const float *x, *dy; /* NCHW: the first step's input, the last step's output gradient */
  float *y, *dx;       /* NCHW: the last step's swish output, the first step's input gradient */
  float *ws;
} run_job;

/* Worker tid's scratch: its padded block and its tile output block. */
static float *run_scratch(const run_job *j, int tid, float **pad, float **mat) {
  float *scratch = j->ws + j->l.worker + (size_t)tid * j->l.worker_size;
  *pad = scratch + j->l.pad;
  *mat = scratch + j->l.mat;
  return scratch;
}

/* The interior row y of channel c of a padded block (the layout of
 * conv2d_direct_impl.h), W_in·LANES floats. */
static float *padded_row(const ebm_conv2d_shape *s, float *xp, int64_t c, int64_t y) {
  const int64_t hp = s->h_in + 2 * s->pad, wp = s->w_in + 2 * s->pad;
  return xp + ((c * hp + y + s->pad) * wp + s->pad) * LANES;
}

/* Forward of groups [begin, end): step i's tiles read pad and fill mat;
 * its swish goes row by row into the interior of pad, now step i + 1's (the
 * same values as the chained pass's blocked act, which move_interior would
 * copy there) and its gate to steps[i].gate (blocked); the last step
 * finishes as the plain fused pass (NCHW y and gate). */
__attribute__((target(DIRECT_TARGET))) static void run_forward_groups(void *ctx, int64_t begin,
                                                                      int64_t end, int tid) {
  const run_job *j = ctx;
  const ebm_conv2d_run_step *st = j->steps;
  const int last = j->count - 1;
  const run_layout l = j->l;
  float *pad, *mat;
  float *scratch = run_scratch(j, tid, &pad, &mat);
  int32_t off[MAX_K];
  const int64_t n = st[0].s.n;
  for (int64_t group = begin; group < end; group++) {
    const int64_t a = group * LANES, gn = a + LANES < n ? LANES : n - a;
    zero_border(&st[0].s, pad);
    load_padded(&st[0].s, j->x + a * conv_f_in(&st[0].s), gn, pad);
    for (int i = 0; i <= last; i++) {
      const ebm_conv2d_shape *s = &st[i].s;
      const int64_t fo = conv_f_out(s), row = s->w_out * LANES;
      tap_offsets(s, off);
      forward_tiles(s, off, j->ws + l.wp[i], st[i].b, pad, mat);
      if (i == last) {
        float *z = scratch + l.zt;
        ops_transpose(fo, gn, mat, LANES, z, fo);
        ops_conv2d_bias_swish(s, gn, NULL, z, j->y + a * fo, st[i].gate + a * fo);
        break;
      }
      const ebm_conv2d_shape *next = &st[i + 1].s;
      const int64_t ld_next = (next->w_in + 2 * next->pad) * LANES;
      float *gate = st[i].gate + a * fo;
      zero_border(next, pad);
      for (int64_t c = 0; c < s->c_out; c++) {
        const int64_t at = c * s->h_out * row;
        ops_swish_gate_rows(s->h_out, row, mat + at, row, padded_row(next, pad, c, 0), ld_next,
                            gate + at, row);
      }
    }
  }
}

/* Backward of groups [begin, end): the last step's output gradient is dy ⊙
 * gate (NCHW, as the plain pass); step i's tiles fill pad from mat; the
 * interior of pad times steps[i − 1].gate goes row by row into mat, now
 * step i − 1's (gate_times_dy's multiply, on the rows move_interior would
 * have copied out); the first step's input gradient leaves as NCHW. */
__attribute__((target(DIRECT_TARGET))) static void run_backward_groups(void *ctx, int64_t begin,
                                                                       int64_t end, int tid) {
  const run_job *j = ctx;
  const ebm_conv2d_run_step *st = j->steps;
  const int last = j->count - 1;
  const run_layout l = j->l;
  float *pad, *mat;
  run_scratch(j, tid, &pad, &mat);
  int32_t off[MAX_K];
  const int64_t n = st[0].s.n;
  for (int64_t group = begin; group < end; group++) {
    const int64_t a = group * LANES, gn = a + LANES < n ? LANES : n - a;
    const int64_t fo_last = conv_f_out(&st[last].s);
    if (gn < LANES) memset(mat, 0, (size_t)(fo_last * LANES) * sizeof *mat);
    ops_transpose_product(gn, fo_last, j->dy + a * fo_last, st[last].gate + a * fo_last, fo_last,
                          mat, LANES);
    for (int i = last; i >= 0; i--) {
      const ebm_conv2d_shape *s = &st[i].s;
      memset(pad, 0, (size_t)padded_floats(s) * sizeof *pad);
      row_major_taps(s, NULL, off);
      backward_tiles(s, off, j->ws + l.wpb[i], mat, pad);
      if (i == 0) {
        store_padded(s, pad, gn, j->dx + a * conv_f_in(s));
        break;
      }
      const ebm_conv2d_shape *prev = &st[i - 1].s;
      const int64_t row = prev->w_out * LANES;
      const float *gate = st[i - 1].gate + a * conv_f_out(prev);
      for (int64_t c = 0; c < prev->c_out; c++)
        for (int64_t y = 0; y < prev->h_out; y++) {
          const int64_t at = (c * prev->h_out + y) * row;
          gate_times_dy(row, padded_row(s, pad, c, y), gate + at, mat + at);
        }
    }
  }
}

void DIRECT_FN(ops_conv2d_direct_run_forward)(int count, const ebm_conv2d_run_step *steps,
                                              const float *x, float *y, float *ws) {
  const run_layout l = run_layout_of(count, steps);
  for (int i = 0; i < count; i++) {
    const ebm_conv2d_shape *s = &steps[i].s;
    if (!steps[i].packed) pack_weights(conv_k(s), s->c_out, steps[i].w, 1, conv_k(s), NULL, ws + l.wp[i]);
  }
  run_job j = {.count = count, .steps = steps, .l = l, .x = x, .y = y, .ws = ws};
  ebm_parallel_for_workers(group_count(&steps[0].s), 1, (int)conv_slots(&steps[0].s),
                           run_forward_groups, &j);
}

void DIRECT_FN(ops_conv2d_direct_run_backward_input)(int count, const ebm_conv2d_run_step *steps,
                                                     const float *dy, float *dx, float *ws) {
  const run_layout l = run_layout_of(count, steps);
  int32_t k_of[MAX_K];
  for (int i = 0; i < count; i++) {
    const ebm_conv2d_shape *s = &steps[i].s;
    if (steps[i].packed) continue;
    row_major_taps(s, k_of, NULL);
    pack_weights(s->c_out, conv_k(s), steps[i].w, conv_k(s), 1, k_of, ws + l.wpb[i]);
  }
  run_job j = {.count = count, .steps = steps, .l = l, .dy = dy, .dx = dx, .ws = ws};
  ebm_parallel_for_workers(group_count(&steps[0].s), 1, (int)conv_slots(&steps[0].s),
                           run_backward_groups, &j);
}
