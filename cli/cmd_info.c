/* `ebm info CKPT`: what a checkpoint holds — the layer table with output
 * shapes, parameter counts, the training step and the metadata. Loading
 * validates everything, so a broken file gets one error line naming the
 * tensor at fault. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A file `ebm info` cannot describe, named by what it is: "ebm info x.npy"
 * deserves the verb that describes an array (the loader's own error names a
 * PNG, a zip or JSON). Returns the exit code after printing, or 0 when the
 * file is none of these. */
static int other_kind(const char *path, const ebm_safetensors *st) {
  const char *format = st ? ebm_safetensors_meta(st, "format") : NULL;
  const char *what = NULL;
  if (format && strcmp(format, EBM_TRAIN_STATE_FORMAT) == 0)
    what = "a training state file (optimizer, replay buffer, RNG), not a model; the model is "
           "last.safetensors beside it";
  else if (format && strcmp(format, EBM_CLASSIFIER_FORMAT_V1) == 0)
    what = "an evaluation classifier in the first format (" EBM_CLASSIFIER_FORMAT_V1 "); "
           "'ebm classifier eval' and 'ebm eval fid --classifier' still read it, and "
           "'ebm classifier train' writes the current format, which 'ebm info' shows";
  if (!st) {
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (got >= 6 && memcmp(head, "\x93NUMPY", 6) == 0) /* the loader names other kinds itself */
      what = "an .npy array, not a checkpoint; 'ebm data stats npy:FILE' describes it";
  }
  if (!what) return 0;
  fprintf(stderr, "ebm: %s: is %s\n", path, what);
  return CLI_EXIT_RUNTIME;
}

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int d = 0; d < ndim && used < size; d++)
    used += (size_t)snprintf(buf + used, size - used, d ? "x%lld" : "%lld", (long long)shape[d]);
}

static void print_layers(ebm_net *net) {
  char shape[64];
  int type_width = 16; /* the widest type name, so the columns stay aligned */
  for (int i = 0; i < ebm_net_layer_count(net); i++) {
    ebm_layer_info info;
    if (ebm_net_layer_info(net, i, &info) == 0 && (int)strlen(info.type) > type_width)
      type_width = (int)strlen(info.type);
  }
  printf("  %-3s %-18s %-*s %-12s %10s  %s\n", "#", "layer", type_width, "type", "output", "params", "detail");
  shape_text(ebm_net_item_ndim(net), ebm_net_item_shape(net), shape, sizeof shape);
  printf("  %-3s %-18s %-*s %-12s %10s\n", "", "(input)", type_width, "", shape, "");
  for (int i = 0; i < ebm_net_layer_count(net); i++) {
    ebm_layer_info info;
    if (ebm_net_layer_info(net, i, &info)) continue;
    shape_text(info.out_ndim, info.out_shape, shape, sizeof shape);
    printf("  %-3d %-18s %-*s %-12s %10lld  %s\n", i, info.name[0] ? info.name : "-", type_width, info.type, shape,
           (long long)info.num_params, info.detail);
  }
}

/* The step and every metadata entry, as the end of either description. */
static void print_meta(const ebm_safetensors *st) {
  const char *step = ebm_safetensors_meta(st, "step");
  printf("step: %s\n", step ? step : "(not recorded)");
  printf("metadata:\n");
  for (int i = 0; i < ebm_safetensors_meta_count(st); i++) {
    const char *key, *value;
    ebm_safetensors_meta_at(st, i, &key, &value);
    printf("  %s: %s\n", key, value);
  }
}

/* A flow model (ebm train --method flow): its couplings, each an s, t
 * network of its own, described as what the flow is rather than as its
 * first coupling's network. */
static int describe_flow(const char *path, const ebm_safetensors *st) {
  ebm_flow *flow = NULL;
  ebm_status s = ebm_flow_from_safetensors(st, 0, &flow);
  if (s) return cli_runtime_error(s);
  char shape[64], spec[160];
  shape_text(ebm_flow_item_ndim(flow), ebm_flow_item_shape(flow), shape, sizeof shape);
  printf("%s: flow (exact density q(x); its energy is -log q), input %s, output %s\n", path, shape, shape);
  printf("  %s\n", ebm_flow_spec_format(ebm_flow_get_spec(flow), spec, sizeof spec));
  int64_t scalars = 0;
  int tensors = 0;
  for (int l = 0; l < ebm_flow_net_count(flow); l++) {
    ebm_net *net = ebm_flow_net(flow, l);
    printf("  coupling %d: s, t network of %lld parameters, %.3g M multiply-adds per item\n", l,
           (long long)ebm_net_num_scalars(net), ebm_net_forward_flops(net) / 1e6);
    scalars += ebm_net_num_scalars(net);
    tensors += ebm_net_param_count(net);
  }
  printf("parameters: %lld in %d tensors (%d couplings)\n", (long long)scalars, tensors, ebm_flow_net_count(flow));
  print_meta(st);
  ebm_flow_free(flow);
  return CLI_EXIT_OK;
}

static int run_info(int argc, char **argv) {
  char *pos[1];
  int npos = 0;
  int rc = cli_parse("info", NULL, 0, argc, argv, pos, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return cli_usage_error("info", "give one checkpoint");
  const char *path = cli_run_checkpoint(pos[0]); /* a run directory: its latest model */
  ebm_safetensors *st = NULL;
  ebm_net *net = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if ((rc = other_kind(path, st))) {
    ebm_safetensors_free(st);
    return rc;
  }
  if (!s && ebm_safetensors_is_flow_model(st)) {
    rc = describe_flow(path, st);
    ebm_safetensors_free(st);
    return rc;
  }
  if (!s) s = ebm_net_from_safetensors(st, 0, &net); /* parameters only: no activations */
  if (s) {
    ebm_safetensors_free(st);
    return cli_runtime_error(s);
  }
  char shape[64];
  shape_text(ebm_net_item_ndim(net), ebm_net_item_shape(net), shape, sizeof shape);
  ebm_energy *en = ebm_net_as_energy(net);
  const char *arch = ebm_safetensors_meta(st, "arch");
  printf("%s: %s, input %s", path, arch && arch[0] != '{' ? arch : (en ? en->name : "network"), shape);
  shape_text(ebm_net_out_ndim(net), ebm_net_out_shape(net), shape, sizeof shape);
  printf(", output %s", shape);
  if (ebm_net_num_classes(net)) printf(", %d classes", ebm_net_num_classes(net));
  if (ebm_net_needs_sigma(net)) printf(", noise-conditioned");
  if (en && en->range_lo < en->range_hi) printf(", range [%g, %g]", en->range_lo, en->range_hi);
  printf("\n");
  ebm_energy_free(en);
  print_layers(net);
  printf("parameters: %lld in %d tensors; buffers: %d tensors\n", (long long)ebm_net_num_scalars(net),
         ebm_net_param_count(net), ebm_net_buffer_count(net));
  printf("forward: %.3g M multiply-adds per item\n", ebm_net_forward_flops(net) / 1e6);
  print_meta(st);
  ebm_net_free(net);
  ebm_safetensors_free(st);
  return CLI_EXIT_OK;
}

CLI_COMMAND(info, "info", "CKPT", "describe a checkpoint: layers, shapes, parameters, metadata",
            "Loads and validates a checkpoint (every tensor present, with its shape and finite\n"
            "values; the shapes are compared with the architecture before anything is allocated,\n"
            "and no activation memory is allocated at all) and prints its architecture as a\n"
            "layer table with per-item output shapes, the parameter count, the training step\n"
            "(metadata \"step\") and all metadata. A flow (ebm train --method flow) is described as\n"
            "its settings and couplings.",
            run_info)
