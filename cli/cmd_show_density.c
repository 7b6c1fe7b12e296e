/* `ebm show density`: a 2-D model's normalised density exp(−E)/Z as a
 * heat-map, next to the toy's true density on the same colour scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "show density"
#define MAX_BATCH 4096

/* The toy a checkpoint was trained on (its "data" metadata), or -1. */
static int toy_of_ckpt(const ebm_safetensors *st) {
  const char *data = ebm_safetensors_meta(st, "data");
  char name[64];
  if (!data || strncmp(data, "toy:", 4) != 0) return -1;
  snprintf(name, sizeof name, "%s", data + 4);
  char *colon = strchr(name, ':');
  if (colon) *colon = '\0';
  return ebm_toy_from_name(name);
}

static int run_show_density(int argc, char **argv) {
  const char *ckpt = NULL, *out = NULL, *toy_name = NULL;
  int cells = 300, cls = -1;
  double extent = 0.0;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "a trained 2-D model (required)"},
      {"out", OPT_PATH_OUT, &out, "FILE.png", "where to write the picture (required)"},
      {"toy", OPT_STRING, &toy_name, "NAME", "draw this toy's true density next to it (default: the toy it was trained on; 'none' for no panel)"},
      {"class", OPT_INT, &cls, "Y", "class of a conditional model (-1: the marginal)"},
      {"cells", OPT_INT, &cells, "N", "pixels per side of each panel"},
      {"extent", OPT_DOUBLE, &extent, "L", "draw [-L, L]² (0: the model's range, else 4)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!ckpt) return cli_usage_error(VERB, "--ckpt CKPT is required");
  if (!out) return cli_usage_error(VERB, "--out FILE.png is required");
  if (cells < 16 || cells > 2048) return cli_usage_error(VERB, "--cells must be in 16..2048, got %d", cells);
  if (extent < 0) return cli_usage_error(VERB, "--extent must be > 0 (0: automatic), got %g", extent);
  int toy = -1;
  if (toy_name && strcmp(toy_name, "none") != 0 && (toy = ebm_toy_from_name(toy_name)) < 0)
    return cli_usage_error(VERB, "--toy: unknown toy '%s' (8gaussians 2spirals checkerboard rings moons pinwheel)", toy_name);

  ebm_safetensors *st_file = NULL;
  ebm_net *net = NULL;
  ebm_energy *en = NULL;
  double *model = NULL, *truth = NULL;
  ebm_status st = ebm_safetensors_load(ckpt, &st_file);
  if (st != EBM_OK) return cli_runtime_error(st);
  if ((st = ebm_model_energy_load(ckpt, MAX_BATCH, &net, &en)) != EBM_OK) { /* a network or a flow */
    rc = cli_runtime_error(st);
    goto done;
  }
  if (!toy_name) toy = toy_of_ckpt(st_file);
  if (en->item_ndim != 1 || en->item_shape[0] != 2) {
    rc = cli_usage_error(VERB, "%s takes %lld values per item; a density picture needs a 2-D model", ckpt,
                         (long long)ebm_energy_item_size(en));
    goto done;
  }
  if (cls < -1 || (en->num_classes == 0 && cls != -1) || (en->num_classes > 0 && cls >= en->num_classes)) {
    rc = cli_usage_error(VERB, "--class must be -1%s, got %d",
                         en->num_classes > 0 ? " or a class of the model" : " for an unconditional model", cls);
    goto done;
  }
  if (extent == 0.0)
    extent = en->range_lo < en->range_hi ? fmax(fabs((double)en->range_lo), fabs((double)en->range_hi)) : EBM_TOY_EXTENT;
  const size_t px = (size_t)cells * (size_t)cells;
  model = malloc(px * sizeof *model);
  truth = toy >= 0 ? malloc(px * sizeof *truth) : NULL;
  if (!model || (toy >= 0 && !truth)) {
    rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory"));
    goto done;
  }
  if ((st = ebm_grid_density(en, cls, extent, cells, model)) != EBM_OK ||
      (toy >= 0 && (st = ebm_grid_toy_density((ebm_toy)toy, extent, cells, truth)) != EBM_OK)) {
    rc = cli_runtime_error(st);
    goto done;
  }
  const double *panels[2] = {model, truth};
  if ((st = ebm_grid_png(out, cells, toy >= 0 ? 2 : 1, panels, extent, NULL, 0)) != EBM_OK) {
    rc = cli_runtime_error(st);
    goto done;
  }
  printf("wrote %s: model density%s%s on [-%g, %g]^2\n", out, toy >= 0 ? " (left) and the true " : "",
         toy >= 0 ? ebm_toy_name((ebm_toy)toy) : "", extent, extent);
  rc = CLI_EXIT_OK;
done:
  free(model);
  free(truth);
  ebm_energy_free(en);
  ebm_net_free(net);
  ebm_safetensors_free(st_file);
  return rc;
}

CLI_COMMAND(show_density, "show density", "--ckpt CKPT --out FILE.png [--toy NAME] [--class Y]",
            "draw a 2-D model's density next to the true one",
            "Evaluates exp(-E)/Z on a grid (Z by quadrature) and writes it as a heat-map, white = 0 to\n"
            "blue = the highest density, with the toy's exact density beside it on the same scale.",
            run_show_density)
