/* `ebm forward`: the raw network output of every input under a checkpoint
 * (logits, generated images, energies — any output shape), in chunks of
 * the built batch, as float32 (N, output shape). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
  ebm_net *net;
  float *out;   /* (N, kout) */
  int64_t kout; /* floats per output */
} forward_ctx;

static ebm_status forward_chunk(void *ctx, const float *x, const ebm_cond *cond, int64_t start, int64_t count) {
  forward_ctx *f = ctx;
  return ebm_net_forward(f->net, x, cond, count, f->out + start * f->kout);
}

static int run_forward(int argc, char **argv) {
  const char *ckpt = NULL, *input = NULL, *labels = NULL, *sigma_path = NULL, *out = NULL;
  int64_t batch = 256;
  int train_mode = 0;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "model checkpoint (.safetensors)"},
      {"input", OPT_PATH_IN, &input, "X.npy", "inputs, float32 (N, C, H, W) or (N, D)"},
      {"labels", OPT_PATH_IN, &labels, "Y.npy", "class labels (N) for a class-conditional model"},
      {"sigma", OPT_PATH_IN, &sigma_path, "S.npy", "noise levels (N), float32 > 0, for a noise-conditioned model"},
      {"out", OPT_PATH_OUT, &out, "OUT.npy", "outputs, float32 (N, output shape)"},
      {"batch", OPT_INT64, &batch, "B", "items per network pass"},
      {"train-mode", OPT_FLAG, &train_mode, NULL, "batch norm uses each chunk's statistics (default: running ones)"},
  };
  int rc = cli_parse("forward", opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!ckpt || !input || !out) return cli_usage_error("forward", "--ckpt, --input and --out are required");
  if (batch < 1 || batch > (1 << 20))
    return cli_usage_error("forward", "--batch must be in [1, %d], got %lld", 1 << 20, (long long)batch);

  cli_model_inputs m;
  float *o = NULL;
  ebm_status st = EBM_OK;
  if ((rc = cli_model_inputs_load("forward", ckpt, input, labels, sigma_path, batch, &m))) goto done;
  ebm_net *net = m.net;
  int64_t n = m.n;
  if (!net) {
    rc = cli_usage_error("forward", "%s is a flow, not a network: `ebm energy` gives its -log q", ckpt);
    goto done;
  }
  ebm_net_set_training(net, train_mode);
  int64_t kout = ebm_net_out_size(net);
  if (!(o = ebm_alloc((size_t)(n * kout > 0 ? n * kout : 1), sizeof *o))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for %lld outputs", out, (long long)(n * kout));
    goto fail;
  }
  forward_ctx ctx = {net, o, kout};
  if ((st = cli_model_inputs_each_chunk(&m, "forward", ebm_net_max_batch(net), forward_chunk, &ctx))) goto fail;
  int64_t shape[4] = {n, 0, 0, 0};
  int ndim = ebm_net_out_ndim(net);
  memcpy(shape + 1, ebm_net_out_shape(net), (size_t)ndim * sizeof *shape);
  if ((st = ebm_npy_save(out, EBM_DTYPE_F32, ndim + 1, shape, o))) goto fail;
  char buf[64];
  printf("wrote %s: %s outputs\n", out, ebm_shape_str(ndim + 1, shape, buf, sizeof buf));
  rc = CLI_EXIT_OK;
  goto done;
fail:
  rc = cli_runtime_error(st);
done:
  ebm_free(o);
  cli_model_inputs_free(&m);
  return rc;
}

CLI_COMMAND(forward, "forward", "--ckpt CKPT --input X.npy --out OUT.npy [--labels Y.npy] [--sigma S.npy]",
            "raw network outputs (logits, images, energies) of inputs",
            "Runs the network of CKPT on every item of X.npy, in chunks of --batch items, and\n"
            "writes its raw output as float32 of shape (N, output shape): 10 logits for a\n"
            "classifier, 1x28x28 images for a generator, one value for an energy. --labels\n"
            "and --sigma give the class labels and noise levels a conditioned model takes.\n"
            "Batch norm layers use their running statistics unless --train-mode.",
            run_forward)
