/* `ebm init`: writes a freshly initialised model (a preset or an
 * architecture JSON) as a checkpoint, atomically. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Reads a JSON file into a NUL-terminated string (1 MB at most). */
static ebm_status read_text(const char *path, char **text) {
  uint8_t *data = NULL;
  size_t size = 0;
  ebm_status st = ebm_read_file(path, 1 << 20, &data, &size);
  if (st) return st;
  char *s = realloc(data, size + 1);
  if (!s) {
    free(data);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  }
  s[size] = '\0';
  *text = s;
  return EBM_OK;
}

static int run_init(int argc, char **argv) {
  const char *arch = NULL, *arch_json = NULL, *out = NULL;
  int classes = 0, in_dim = 0, width = 0, depth = -1, force = 0;
  int64_t seed = 0;
  cli_opt opts[] = {
      {"arch", OPT_STRING, &arch, "PRESET", "mlp, uva-cnn, igebm-mnist, igebm-cifar, pointnet, dgcnn, video-convnet, video-st, voxelnet or jem-cnn"},
      {"arch-json", OPT_PATH_IN, &arch_json, "FILE", "architecture JSON instead of a preset"},
      {"classes", OPT_INT, &classes, "K", "class-conditional with K classes (igebm-*, mlp, pointnet, dgcnn, voxelnet, video-convnet)"},
      {"in-dim", OPT_INT, &in_dim, "D", "input size of 'mlp' (0 = 2), points per cloud of 'pointnet' / 'dgcnn' (0 = 128)"},
      {"width", OPT_INT, &width, "W", "base width of the preset (0 = the preset's)"},
      {"depth", OPT_INT, &depth, "L", "hidden layers of 'mlp' (-1 = 2)"},
      {"seed", OPT_INT64, &seed, "S", "random seed of the initialisation"},
      {"out", OPT_PATH_OUT, &out, "MODEL.safetensors", "checkpoint to write"},
      {"force", OPT_FLAG, &force, NULL, "replace an existing checkpoint at --out"},
  };
  int rc = cli_parse("init", opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!out) return cli_usage_error("init", "--out is required");
  if (!arch && !arch_json) return cli_usage_error("init", "give --arch PRESET or --arch-json FILE");
  if (arch && arch_json) return cli_usage_error("init", "give either --arch or --arch-json, not both");
  if (classes < 0) return cli_usage_error("init", "--classes must be >= 0, got %d", classes);
  if (in_dim < 0) return cli_usage_error("init", "--in-dim must be >= 0, got %d", in_dim);
  if (width < 0) return cli_usage_error("init", "--width must be >= 0, got %d", width);
  if (depth < -1) return cli_usage_error("init", "--depth must be >= 0, got %d", depth);
  if (seed < 0) return cli_usage_error("init", "--seed must be >= 0, got %lld", (long long)seed);
  if (arch_json && (classes || in_dim || width || depth != -1))
    return cli_usage_error("init", "--classes, --in-dim, --width and --depth go with --arch, not --arch-json");

  char *json = NULL;
  ebm_net *net = NULL;
  ebm_status st = EBM_OK;
  if (arch) {
    /* The compact form carries the preset's knobs; ebm_net_new expands it. */
    if (strchr(arch, '"') || strchr(arch, '\\') || strlen(arch) > 64)
      return cli_usage_error("init", "--arch '%s' is not a preset name", arch);
    char buf[256];
    snprintf(buf, sizeof buf, "{\"preset\":\"%s\",\"classes\":%d,\"in_dim\":%d,\"width\":%d,\"depth\":%d}",
             arch, classes, in_dim, width, depth);
    st = ebm_net_new(buf, 1, &net);
    /* A bad preset or knob is a usage error: it names the flag's value. */
    if (st == EBM_ERR_ARG) return cli_usage_error("init", "--arch %s: %s", arch, ebm_last_error());
  } else {
    st = read_text(arch_json, &json);
    if (!st && (st = ebm_net_new(json, 1, &net))) ebm_error_prefix(st, arch_json);
  }
  if (st) goto fail;
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)seed);
  if ((st = ebm_net_init(net, &rng))) goto fail;
  char seed_text[32];
  snprintf(seed_text, sizeof seed_text, "%lld", (long long)seed);
  const char *keys[] = {"step", "seed"}, *values[] = {"0", seed_text};
  if ((st = ebm_net_save(net, out, 2, keys, values))) goto fail;
  printf("wrote %s: %s, %lld parameters\n", out, arch ? arch : arch_json,
         (long long)ebm_net_num_scalars(net));
  ebm_net_free(net);
  free(json);
  return CLI_EXIT_OK;
fail:
  ebm_net_free(net);
  free(json);
  return cli_runtime_error(st);
}

CLI_COMMAND(init, "init", "(--arch PRESET | --arch-json FILE) --out MODEL.safetensors [options]",
            "write a freshly initialised energy network",
            "Builds a network from a preset (mlp, uva-cnn, igebm-mnist, igebm-cifar, pointnet,\n"
            "dgcnn, video-convnet, video-st, voxelnet, jem-cnn) or an\n"
            "architecture JSON, initialises it as PyTorch does (kaiming-uniform weights,\n"
            "uniform biases) from --seed, and writes it as a safetensors checkpoint with\n"
            "PyTorch parameter names and the architecture in its metadata.",
            run_init)
