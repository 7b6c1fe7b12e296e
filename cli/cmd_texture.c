/* `ebm texture`: learn a texture from one PNG and synthesize a new one of
 * any size (src/texture/, ebm/texture.h). The verb parses flags, reads and
 * writes PNGs, and prints the Gram statistic of the result against the
 * input beside a shuffled-pixel baseline. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "texture"

typedef struct {
  ebm_progress *bar;
} progress_ctx;

static void on_step(void *ctx, int iter, double loss, double e_data, double e_sample) {
  char metric[96];
  snprintf(metric, sizeof metric, "loss %.4g e+ %.4g e- %.4g", loss, e_data, e_sample);
  ebm_progress_update(((progress_ctx *)ctx)->bar, iter + 1, metric);
}

static int run_texture(int argc, char **argv) {
  const char *input = NULL, *out = NULL, *size = NULL, *filters = "convnet", *pair = NULL;
  ebm_texture_config cfg = ebm_texture_defaults();
  int64_t seed = 1;
  cli_opt opts[] = {
      {"input", OPT_PATH_IN, &input, "T.png", "the texture to learn (grey or RGB PNG) (required)"},
      {"out", OPT_PATH_OUT, &out, "S.png", "the synthesized texture (required)"},
      {"size", OPT_STRING, &size, "WxH", "size of the synthesis (default: twice the input's)"},
      {"filters", OPT_STRING, &filters, "KIND", "convnet (learned filters) | gabor (classic FRAME: fixed Gabor bank)"},
      {"iters", OPT_INT, &cfg.iters, "N", "learning iterations"},
      {"chains", OPT_INT, &cfg.chains, "M", "synthesized images per iteration"},
      {"steps", OPT_INT, &cfg.steps, "K", "Langevin steps from noise (learning and synthesis)"},
      {"step-size", OPT_FLOAT, &cfg.step_size, "LAMBDA", "Langevin step size"},
      {"noise", OPT_FLOAT, &cfg.noise, "SIGMA", "Langevin noise"},
      {"grad-clip", OPT_FLOAT, &cfg.grad_clip, "C", "per-pixel clip of the Langevin gradient (0: off)"},
      {"lr", OPT_FLOAT, &cfg.lr, "LR", "Adam learning rate"},
      {"width", OPT_INT, &cfg.width, "C", "convnet: channels of the first layer"},
      {"init-cell", OPT_INT, &cfg.init_cell, "PX", "chains start as noise on a grid this many px apart, interpolated (1: per pixel)"},
      {"seed", OPT_INT64, &seed, "S", "random seed (weights, chains, synthesis)"},
      {"side-by-side", OPT_PATH_OUT, &pair, "P.png", "also write the input and the synthesis side by side"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!input || !out) return cli_usage_error(VERB, "--input and --out are required");
  int model = ebm_texture_model_from_name(filters);
  if (model < 0) return cli_usage_error(VERB, "--filters must be convnet or gabor, got '%s'", filters);
  cfg.model = (ebm_texture_model)model;
  cfg.seed = (uint64_t)seed;
  if (ebm_texture_config_check(&cfg)) return cli_usage_error(VERB, "%s", ebm_last_error());
  int ow = 0, oh = 0, min_side = ebm_texture_min_side();
  if (size && (rc = cli_parse_size(VERB, "--size", size, 65535, &ow, &oh))) return rc;
  if (size && (ow < min_side || oh < min_side))
    return cli_usage_error(VERB, "--size %s is too small: each side must be at least %d (the model's "
                           "receptive field)", size, min_side);

  int c, h, w;
  float *image = NULL, *synth = NULL, *shuffled = NULL;
  ebm_texture *t = NULL;
  progress_ctx pc = {NULL};
  ebm_status st = ebm_image_read_png(input, &c, &h, &w, &image);
  if (st) return cli_runtime_error(st);
  if (!size) ow = 2 * w, oh = 2 * h;
  if ((st = ebm_texture_new(&cfg, c, h, w, &t))) {
    rc = cli_runtime_error(ebm_error_prefix(st, input));
    goto done;
  }
  synth = malloc((size_t)c * (size_t)oh * (size_t)ow * sizeof *synth);
  shuffled = malloc((size_t)c * (size_t)h * (size_t)w * sizeof *shuffled);
  if (!synth || !shuffled) {
    rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %dx%d synthesis", ow, oh));
    goto done;
  }
  pc.bar = ebm_progress_new(stderr, "texture", cfg.iters);
  st = ebm_texture_learn(t, image, on_step, &pc);
  ebm_progress_finish(pc.bar);
  if (st || (st = ebm_texture_synthesize(t, oh, ow, cfg.seed + 1, synth))) {
    rc = cli_runtime_error(st);
    goto done;
  }
  double d_synth, d_shuffled;
  ebm_texture_shuffle_pixels(image, c, h, w, cfg.seed + 2, shuffled);
  if ((st = ebm_texture_gram_distance(t, image, h, w, synth, oh, ow, &d_synth)) ||
      (st = ebm_texture_gram_distance(t, image, h, w, shuffled, h, w, &d_shuffled)) ||
      (st = ebm_image_write_row_png(out, 1, c, &oh, &ow, (const float *const *)&synth, 0))) {
    rc = cli_runtime_error(st);
    goto done;
  }
  if (pair) {
    int hs[2] = {h, oh}, ws[2] = {w, ow};
    const float *px[2] = {image, synth};
    if ((st = ebm_image_write_row_png(pair, 2, c, hs, ws, px, 4))) {
      rc = cli_runtime_error(st);
      goto done;
    }
  }
  printf("%s: %dx%d from %dx%d (%s), Gram distance to the input %.4f (shuffled pixels %.4f)\n", out,
         ow, oh, w, h, filters, d_synth, d_shuffled);
  rc = CLI_EXIT_OK;
done:
  ebm_texture_free(t);
  free(image);
  free(synth);
  free(shuffled);
  return rc;
}

CLI_COMMAND(texture, VERB, "--input T.png --out S.png [--size WxH] [--filters gabor] [options]",
            "learn a texture from one image and synthesize one of any size",
            "A fully convolutional energy (the sum over positions of a ConvNet's last\n"
            "map) learned from the one image by short-run Langevin from noise, then\n"
            "sampled at --size by the same K steps. --filters gabor: classic FRAME, a\n"
            "fixed Gabor bank with learned weights on its response histograms. Prints\n"
            "the Gram distance of first-layer features, synthesis vs input, beside the\n"
            "input with its pixels shuffled (same histogram, no structure).",
            run_texture)
