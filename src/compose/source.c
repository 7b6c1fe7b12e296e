/* Energies named by text (compose.h): the one grammar of --ckpt, --energy
 * and --term, so every verb accepts the same specs with the same rules and
 * messages, and a library user gets the same energies from the same strings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/compose.h"
#include "ebm/data.h"
#include "ebm/flow.h"

#define LOG_2PI 1.8378770664093454836

static ebm_status parse_number(const char *text, const char *key, const char *val, double *out) {
  char *end = NULL;
  double v = strtod(val, &end);
  if (end == val || *end || !isfinite(v))
    return ebm_set_error(EBM_ERR_ARG, "%s: %s= expects a finite number, got '%s'", text, key, val);
  *out = v;
  return EBM_OK;
}

/* mean=M (every coordinate) or M1,...,MD. */
static ebm_status parse_mean(const char *text, const char *val, int64_t dim, double **out) {
  double *mean = calloc((size_t)dim, sizeof *mean);
  if (!mean) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for the mean", text);
  int64_t count = 0;
  for (const char *p = val;;) {
    char *end = NULL;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v) || count >= dim || (*end != ',' && *end != '\0')) {
      free(mean);
      return ebm_set_error(EBM_ERR_ARG, "%s: mean= expects 1 or %lld comma-separated numbers, got '%s'", text,
                           (long long)dim, val);
    }
    mean[count++] = v;
    if (*end == '\0') break;
    p = end + 1;
  }
  if (count == 1)
    for (int64_t k = 1; k < dim; k++) mean[k] = mean[0];
  else if (count != dim) {
    free(mean);
    return ebm_set_error(EBM_ERR_ARG, "%s: mean= has %lld values, expected 1 or %lld", text, (long long)count,
                         (long long)dim);
  }
  *out = mean;
  return EBM_OK;
}

/* range=LO,HI: two finite numbers, LO < HI. */
static ebm_status parse_range(const char *text, const char *val, ebm_energy_spec *s) {
  char *mid = NULL, *end = NULL;
  double lo = strtod(val, &mid), hi = *mid == ',' ? strtod(mid + 1, &end) : NAN;
  if (mid == val || *mid != ',' || end == mid + 1 || *end || !isfinite(lo) || !isfinite(hi) || !(lo < hi))
    return ebm_set_error(EBM_ERR_ARG, "%s: range= expects LO,HI with LO < HI (e.g. range=-1,1), got '%s'", text,
                         val);
  s->range_lo = (float)lo;
  s->range_hi = (float)hi;
  return EBM_OK;
}

/* window=S,C: two whole numbers, S >= 1, C in 1..4096 (the energy's size is
 * checked when it is opened). */
static ebm_status parse_window(const char *text, const char *val, ebm_energy_spec *s) {
  char *mid = NULL, *end = NULL;
  long stride = strtol(val, &mid, 10), count = *mid == ',' ? strtol(mid + 1, &end, 10) : 0;
  if (mid == val || *mid != ',' || end == mid + 1 || *end || stride < 1 || stride > 4096 || count < 1 ||
      count > 4096)
    return ebm_set_error(EBM_ERR_ARG, "%s: window= expects STRIDE,COUNT, two whole numbers in 1..4096 "
                         "(e.g. window=2,14), got '%s'", text, val);
  s->window_stride = stride;
  s->window_count = count;
  return EBM_OK;
}

/* ends=W1,..,Wk: 1..EBM_WINDOW_MAX_ENDS numbers > 0 (their count against
 * the windows is checked when the window sum is built). */
static ebm_status parse_ends(const char *text, const char *val, ebm_energy_spec *s) {
  const char *p = val;
  int k = 0;
  for (;;) {
    char *end = NULL;
    double v = strtod(p, &end);
    if (end == p || (*end && *end != ',') || !isfinite(v) || !(v > 0.0) || k == EBM_WINDOW_MAX_ENDS)
      return ebm_set_error(EBM_ERR_ARG, "%s: ends= expects 1..%d weights > 0 for the first and last windows "
                           "(e.g. ends=2 or ends=2,1.5), got '%s'", text, EBM_WINDOW_MAX_ENDS, val);
    s->window_ends[k++] = v;
    if (!*end) break;
    p = end + 1;
  }
  s->window_n_ends = k;
  return EBM_OK;
}

/* One key=value option peeled off the end; mean= is kept as text until the
 * dimension is known. */
static ebm_status parse_option(const char *text, unsigned flags, const char *key, const char *val,
                               ebm_energy_spec *s, const char **mean_text) {
  ebm_status st;
  if (strcmp(key, "class") == 0) {
    char *end = NULL;
    long v = strtol(val, &end, 10);
    if (end == val || *end || v < 0 || v > 1000000)
      return ebm_set_error(EBM_ERR_ARG, "%s: class= expects a label >= 0, got '%s'", text, val);
    s->label = (int)v;
    return EBM_OK;
  }
  if (strcmp(key, "mean") == 0) {
    *mean_text = val;
    return EBM_OK;
  }
  if (strcmp(key, "range") == 0 && (flags & EBM_SPEC_TERM)) return parse_range(text, val, s);
  if (strcmp(key, "window") == 0) return parse_window(text, val, s);
  if (strcmp(key, "ends") == 0) return parse_ends(text, val, s);
  int is_term_key = strcmp(key, "weight") == 0 || strcmp(key, "temp") == 0;
  if (strcmp(key, "std") == 0 || (is_term_key && (flags & EBM_SPEC_TERM))) {
    double v = 0.0;
    if ((st = parse_number(text, key, val, &v)) != EBM_OK) return st;
    if (!(v > 0.0)) return ebm_set_error(EBM_ERR_ARG, "%s: %s= must be > 0, got %g", text, key, v);
    *(key[0] == 'w' ? &s->weight : key[0] == 't' ? &s->temperature : &s->std) = v;
    return EBM_OK;
  }
  return ebm_set_error(EBM_ERR_ARG, "%s: unknown option '%s' (%s; mean, std for gaussian:D)", text, key,
                       flags & EBM_SPEC_TERM ? "class, weight, temp, range, window, ends" : "class, window, ends");
}

/* The energy's name: two Gaussians with different means must not both read
 * "gaussian:2" in a composition's summary. */
static ebm_status name_spec(const char *text, ebm_energy_spec *s, const char *source, const char *mean_text) {
  char std_text[40] = "";
  if (s->kind == EBM_SOURCE_GAUSSIAN && s->std != 1.0) snprintf(std_text, sizeof std_text, ":std=%g", s->std);
  const char *base = s->kind == EBM_SOURCE_CKPT ? s->path : source;
  size_t size = strlen(base) + (mean_text ? strlen(mean_text) + 6 : 0) + strlen(std_text) + 1;
  if (!(s->name = malloc(size))) return ebm_set_error(EBM_ERR_NOMEM, "out of memory parsing '%s'", text);
  snprintf(s->name, size, "%s%s%s%s", base, mean_text ? ":mean=" : "", mean_text ? mean_text : "", std_text);
  return EBM_OK;
}

ebm_status ebm_energy_spec_parse(const char *text, unsigned flags, ebm_energy_spec *out) {
  memset(out, 0, sizeof *out);
  out->label = -1;
  out->std = out->weight = out->temperature = 1.0;
  if (!text || !text[0]) return ebm_set_error(EBM_ERR_ARG, "an empty energy spec (CKPT, toy:NAME or gaussian:D)");
  char *source = strdup(text);
  if (!source) return ebm_set_error(EBM_ERR_NOMEM, "out of memory parsing '%s'", text);
  ebm_status st = EBM_OK;
  const char *mean_text = NULL;
  for (;;) {
    char *colon = strrchr(source, ':');
    if (!colon) break;
    char *eq = strchr(colon + 1, '=');
    if (!eq) break;
    *eq = '\0';
    if ((st = parse_option(text, flags, colon + 1, eq + 1, out, &mean_text)) != EBM_OK) goto done;
    /* mean_text points into `source`, whose tail this cut does not touch */
    *colon = '\0';
  }
  if (!source[0]) {
    st = ebm_set_error(EBM_ERR_ARG, "%s: no checkpoint or energy before the options", text);
    goto done;
  }
  if (strncmp(source, "toy:", 4) == 0) {
    out->kind = EBM_SOURCE_TOY;
    out->toy = ebm_toy_from_name(source + 4);
    if (out->toy < 0) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: unknown toy '%s' (8gaussians 2spirals rings moons pinwheel)", text,
                         source + 4);
      goto done;
    }
    if (out->toy == EBM_TOY_CHECKERBOARD) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: the checkerboard toy has no usable energy (flat on its squares, "
                         "infinite elsewhere); it is data only", text);
      goto done;
    }
  } else if (strncmp(source, "gaussian:", 9) == 0) {
    out->kind = EBM_SOURCE_GAUSSIAN;
    char *end = NULL;
    long d = strtol(source + 9, &end, 10);
    if (end == source + 9 || *end || d < 1 || d > EBM_SPEC_MAX_DIM) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: gaussian:D needs a dimension D in 1..%d", text, EBM_SPEC_MAX_DIM);
      goto done;
    }
    out->dim = d;
    if (mean_text && (st = parse_mean(text, mean_text, d, &out->mean)) != EBM_OK) goto done;
  } else {
    out->kind = EBM_SOURCE_CKPT;
    out->path = source;
    source = NULL;
  }
  if (out->kind != EBM_SOURCE_GAUSSIAN && (mean_text || out->std != 1.0)) {
    st = ebm_set_error(EBM_ERR_ARG, "%s: mean= and std= are options of gaussian:D energies", text);
    goto done;
  }
  if (out->kind != EBM_SOURCE_CKPT && out->range_lo < out->range_hi) {
    st = ebm_set_error(EBM_ERR_ARG, "%s: range= maps a checkpoint's data range; %s has none", text,
                       out->kind == EBM_SOURCE_TOY ? "a toy" : "a Gaussian");
    goto done;
  }
  if (out->kind != EBM_SOURCE_CKPT && out->label >= 0) {
    st = ebm_set_error(EBM_ERR_ARG, "%s: class= fixes the class of a conditional checkpoint; %s has none", text,
                       out->kind == EBM_SOURCE_TOY ? "a toy" : "a Gaussian");
    goto done;
  }
  if (out->window_n_ends > 0 && out->window_count == 0) {
    st = ebm_set_error(EBM_ERR_ARG, "%s: ends= weights the end windows of a window sum; give window=S,C too", text);
    goto done;
  }
  st = name_spec(text, out, source, mean_text);
done:
  free(source);
  return st;
}

void ebm_energy_spec_free(ebm_energy_spec *spec) {
  if (!spec) return;
  free(spec->path);
  free(spec->mean);
  free(spec->name);
  spec->path = NULL;
  spec->mean = NULL;
  spec->name = NULL;
}

/* N(mean, S²·I): the covariance is only built when S ≠ 1. */
static ebm_status open_gaussian(const ebm_energy_spec *spec, ebm_energy **out) {
  const int64_t D = spec->dim;
  double *cov = NULL;
  if (spec->std != 1.0) {
    if (!(cov = calloc((size_t)(D * D), sizeof *cov)))
      return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %lld-dimensional Gaussian", (long long)D);
    for (int64_t k = 0; k < D; k++) cov[k * D + k] = spec->std * spec->std;
  }
  ebm_status st = ebm_gaussian_energy_new(D, spec->mean, cov, out);
  free(cov);
  return st;
}

ebm_status ebm_energy_source_open(const ebm_energy_spec *spec, int64_t max_batch, ebm_energy_source *out) {
  memset(out, 0, sizeof *out);
  out->kind = spec->kind;
  ebm_status st = EBM_OK;
  ebm_energy *en = NULL;
  switch (spec->kind) {
    case EBM_SOURCE_TOY: st = ebm_toy_energy_new((ebm_toy)spec->toy, &en); break;
    case EBM_SOURCE_GAUSSIAN:
      out->dim = spec->dim;
      out->std = spec->std;
      if (spec->mean && !(out->mean = malloc((size_t)spec->dim * sizeof *out->mean))) {
        st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %lld-dimensional Gaussian", (long long)spec->dim);
        break;
      }
      if (spec->mean) memcpy(out->mean, spec->mean, (size_t)spec->dim * sizeof *out->mean);
      st = open_gaussian(spec, &en);
      break;
    case EBM_SOURCE_CKPT:
      /* a network's energy, or a flow model's −log q */
      st = ebm_model_energy_load(spec->path, max_batch > 0 ? max_batch : 1, &out->net, &en);
      break;
  }
  /* messages and composition names show the file or the spec */
  if (st == EBM_OK && spec->name && !(out->name = strdup(spec->name)))
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", spec->name);
  if (st == EBM_OK && out->name) en->name = out->name;
  if (st != EBM_OK) {
    ebm_energy_free(en);
    return st;
  }
  out->owned[0] = out->energy = en;
  if (spec->label >= 0) {
    if (en->num_classes == 0)
      return ebm_set_error(EBM_ERR_ARG, "%s: class=%d given but the model is unconditional", en->name, spec->label);
    if (spec->label >= en->num_classes)
      return ebm_set_error(EBM_ERR_ARG, "%s: class must be in 0..%d, got %d", en->name, en->num_classes - 1,
                           spec->label);
    if ((st = ebm_label_energy_new(en, spec->label, &out->owned[1])) != EBM_OK) return st;
    out->energy = out->owned[1];
  }
  if (spec->range_lo < spec->range_hi) {
    if ((st = ebm_range_energy_new(out->energy, spec->range_lo, spec->range_hi, &out->owned[2])) != EBM_OK)
      return st;
    out->energy = out->owned[2];
  }
  if (spec->window_count > 0) {
    if ((st = ebm_window_energy_new(out->energy, spec->window_stride, spec->window_count, spec->window_ends,
                                    spec->window_n_ends, &out->owned[3])) != EBM_OK)
      return st;
    out->energy = out->owned[3];
  }
  return EBM_OK;
}

void ebm_energy_source_close(ebm_energy_source *src) {
  if (!src) return;
  ebm_energy_free(src->owned[3]);
  ebm_energy_free(src->owned[2]); /* wrappers before what they wrap, the net last */
  ebm_energy_free(src->owned[1]);
  ebm_energy_free(src->owned[0]);
  ebm_net_free(src->net);
  free(src->name);
  free(src->mean);
  memset(src, 0, sizeof *src);
}

/* log of the N(m, s²) mass on [lo, hi], times s·√(2π) (the unnormalised
 * exp(−(x−m)²/2s²) integrated over the interval). erfc keeps the far tails
 * accurate where Φ(b) − Φ(a) would cancel. */
static double log_truncated_normal_integral(double m, double s, double lo, double hi) {
  const double a = (lo - m) / (s * sqrt(2.0)), b = (hi - m) / (s * sqrt(2.0));
  double mass = a >= 0.0 ? 0.5 * (erfc(a) - erfc(b)) : b <= 0.0 ? 0.5 * (erfc(-b) - erfc(-a))
                                                                 : 1.0 - 0.5 * (erfc(b) + erfc(-a));
  return log(s) + 0.5 * LOG_2PI + log(mass);
}

void ebm_energy_source_log_z(const ebm_energy_source *src, double temperature, double lo, double hi, int *known,
                             double *log_z) {
  *known = 0;
  *log_z = NAN;
  if (!src || !(temperature > 0.0) || src->owned[3]) return; /* a window sum: not the law's own log Z */
  const int boxed = lo < hi;
  if (src->kind == EBM_SOURCE_TOY) {
    if (temperature != 1.0 || (boxed && (lo > -EBM_TOY_EXTENT || hi < EBM_TOY_EXTENT))) return;
    *known = 1;
    *log_z = 0.0;
  } else if (src->kind == EBM_SOURCE_GAUSSIAN) {
    const double s = src->std * sqrt(temperature);
    double total = 0.0;
    for (int64_t d = 0; d < src->dim; d++)
      total += boxed ? log_truncated_normal_integral(src->mean ? src->mean[d] : 0.0, s, lo, hi)
                     : log(s) + 0.5 * LOG_2PI;
    *known = 1;
    *log_z = total;
  }
}
