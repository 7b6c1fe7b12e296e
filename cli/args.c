/* Option parsing for every verb: long options only, `--name=value` or
 * `--name value`, numbers checked in full (trailing junk, NaN, overflow are
 * usage errors naming the flag). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_COMMANDS 128

static const cli_command *commands[MAX_COMMANDS];
static int command_count;

void cli_register(const cli_command *cmd) {
  if (command_count < MAX_COMMANDS) commands[command_count++] = cmd;
}

const cli_command *cli_find(const char *verb) {
  for (int i = 0; i < command_count; i++)
    if (strcmp(commands[i]->verb, verb) == 0) return commands[i];
  return NULL;
}

int cli_command_count(void) { return command_count; }
const cli_command *cli_command_at(int i) { return commands[i]; }

static void print_usage_line(FILE *out, const char *verb) {
  const cli_command *cmd = cli_find(verb);
  fprintf(out, "usage: ebm %s %s\n", verb, cmd && cmd->synopsis ? cmd->synopsis : "[options]");
}

int cli_usage_error(const char *verb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ebm %s: ", verb);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  print_usage_line(stderr, verb);
  fprintf(stderr, "Run 'ebm help %s' for the options.\n", verb);
  return CLI_EXIT_USAGE;
}

int cli_runtime_error(ebm_status status) {
  const char *detail = ebm_last_error();
  fprintf(stderr, "ebm: %s\n", detail[0] ? detail : ebm_strerror(status));
  return CLI_EXIT_RUNTIME;
}

void cli_print_default(FILE *out, const cli_opt *o) {
  switch (o->kind) {
    case OPT_STRING:
    case OPT_PATH_IN:
    case OPT_PATH_OUT:
    case OPT_SPEC_IN:
    case OPT_ENERGY_IN: {
      const char *v = *(const char **)o->dst;
      if (v) fprintf(out, " (default %s)", v);
      break;
    }
    case OPT_INT: fprintf(out, " (default %d)", *(int *)o->dst); break;
    case OPT_INT64: fprintf(out, " (default %lld)", (long long)*(int64_t *)o->dst); break;
    case OPT_FLOAT: fprintf(out, " (default %g)", (double)*(float *)o->dst); break;
    case OPT_DOUBLE: fprintf(out, " (default %g)", *(double *)o->dst); break;
    case OPT_FLAG: break;
  }
}

void cli_print_help(FILE *out, const char *verb, const cli_opt *opts, int nopts) {
  if (cli_help_as_man) {
    cli_print_man_section(out, verb, opts, nopts);
    return;
  }
  const cli_command *cmd = cli_find(verb);
  print_usage_line(out, verb);
  if (cmd && cmd->summary) fprintf(out, "\n%s\n", cmd->summary);
  if (cmd && cmd->description) fprintf(out, "\n%s\n", cmd->description);
  fprintf(out, "\nOptions:\n");
  for (int i = 0; i < nopts; i++) {
    const cli_opt *o = &opts[i];
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    fprintf(out, "  %-24s %s", left, o->help);
    cli_print_default(out, o);
    fprintf(out, "\n");
  }
  fprintf(out, "  %-24s %s\n", "--threads N", "worker threads (default: EBM_THREADS or all cores)");
  fprintf(out, "  %-24s %s\n", "--help", "show this help");
}

static int parse_value(const char *verb, const cli_opt *o, const char *text) {
  char *end = NULL;
  errno = 0;
  switch (o->kind) {
    case OPT_STRING:
    case OPT_PATH_IN:
    case OPT_PATH_OUT:
    case OPT_SPEC_IN:
    case OPT_ENERGY_IN:
      *(const char **)o->dst = o->metavar && strcmp(o->metavar, "CKPT") == 0 ? cli_run_checkpoint(text) : text;
      return 0;
    case OPT_INT:
    case OPT_INT64: {
      long long v = strtoll(text, &end, 10);
      if (end == text || *end || errno == ERANGE || (o->kind == OPT_INT && (v < INT_MIN || v > INT_MAX)))
        return cli_usage_error(verb, "--%s expects an integer, got '%s'", o->name, text);
      if (o->kind == OPT_INT) *(int *)o->dst = (int)v;
      else *(int64_t *)o->dst = (int64_t)v;
      return 0;
    }
    case OPT_FLOAT:
    case OPT_DOUBLE: {
      double v = strtod(text, &end);
      if (end == text || *end || errno == ERANGE || !isfinite(v))
        return cli_usage_error(verb, "--%s expects a finite number, got '%s'", o->name, text);
      if (o->kind == OPT_FLOAT) *(float *)o->dst = (float)v;
      else *(double *)o->dst = v;
      return 0;
    }
    case OPT_FLAG: *(int *)o->dst = 1; return 0;
  }
  return 0;
}

/* --threads, else EBM_THREADS: a count below 1 or junk is a usage error
 * naming where it came from (it used to mean "all cores" silently). */
static int set_threads(const char *verb, int given, int threads) {
  const char *env = getenv("EBM_THREADS");
  if (!given) {
    if (!env || !env[0]) return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(env, &end, 10);
    if (end == env || *end || errno == ERANGE || v < 1 || v > 256)
      return cli_usage_error(verb, "EBM_THREADS must be a thread count in 1..256, got '%s'", env);
    threads = (int)v;
  } else if (threads < 1) {
    return cli_usage_error(verb, "--threads must be at least 1, got %d", threads);
  }
  if (ebm_threads_init(threads) != EBM_OK)
    return cli_usage_error(verb, "%s%s", given ? "--threads: " : "EBM_THREADS: ", ebm_last_error());
  return 0;
}

int cli_parse(const char *verb, const cli_opt *opts, int nopts, int argc, char **argv,
              char **pos, int max_pos, int *npos) {
  return cli_parse_given(verb, opts, nopts, argc, argv, pos, max_pos, npos, NULL);
}

int cli_parse_given(const char *verb, const cli_opt *opts, int nopts, int argc, char **argv, char **pos,
                    int max_pos, int *npos, unsigned char *given) {
  int threads = 0, threads_given = 0;
  if (given) memset(given, 0, (size_t)nopts);
  cli_opt threads_opt = {"threads", OPT_INT, &threads, "N", ""};
  if (npos) *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      for (i++; i < argc; i++) {
        if (!npos || *npos >= max_pos) return cli_usage_error(verb, "unexpected argument '%s'", argv[i]);
        pos[(*npos)++] = argv[i];
      }
      break;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      if (!npos || *npos >= max_pos) return cli_usage_error(verb, "unexpected argument '%s'", arg);
      pos[(*npos)++] = argv[i];
      continue;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, verb, opts, nopts);
      return -1;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const cli_opt *o = NULL;
    for (int k = 0; k < nopts && !o; k++)
      if (strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0) o = &opts[k];
    if (!o && len == 7 && strncmp(name, "threads", 7) == 0) o = &threads_opt, threads_given = 1;
    if (!o) {
      const char *names[256];
      int count = 0;
      for (int k = 0; k < nopts && count < 255; k++) names[count++] = opts[k].name;
      names[count++] = "threads";
      const char *near = cli_suggest(name, len, names, count);
      if (near) return cli_usage_error(verb, "unknown option '--%.*s'; did you mean '--%s'?", (int)len, name, near);
      return cli_usage_error(verb, "unknown option '--%.*s'", (int)len, name);
    }
    const char *value;
    if (o->kind == OPT_FLAG) {
      if (eq) return cli_usage_error(verb, "--%s takes no value", o->name);
      value = "1";
    } else if (eq) {
      value = eq + 1;
    } else {
      if (i + 1 >= argc) return cli_usage_error(verb, "--%s needs a value", o->name);
      value = argv[++i];
    }
    int rc = parse_value(verb, o, value);
    if (rc) return rc;
    if (given && o != &threads_opt) given[o - opts] = 1;
  }
  int rc = set_threads(verb, threads_given, threads);
  return rc ? rc : cli_check_paths(verb, opts, nopts, NULL, 0);
}

int cli_parse_range(const char *verb, const char *text, float *lo, float *hi) {
  char *end = NULL;
  double a = strtod(text, &end), b = 0;
  int ok = end != text && *end == ',';
  if (ok) {
    const char *second = end + 1;
    b = strtod(second, &end);
    ok = end != second && *end == '\0';
  }
  if (!ok || !isfinite(a) || !isfinite(b) || !(a < b) || !isfinite((float)a) || !isfinite((float)b))
    return cli_usage_error(verb, "--range expects LO,HI with finite LO < HI (e.g. 0,1 or -1,1), got '%s'",
                           text);
  *lo = (float)a;
  *hi = (float)b;
  return 0;
}

int cli_parse_size(const char *verb, const char *flag, const char *text, int max, int *w, int *h) {
  char *end;
  long a = strtol(text, &end, 10), b = 0;
  int ok = end != text && (*end == 'x' || *end == 'X');
  if (ok) {
    const char *second = end + 1;
    b = strtol(second, &end, 10);
    ok = end != second && !*end && a >= 1 && b >= 1 && a <= max && b <= max;
  }
  if (!ok) return cli_usage_error(verb, "%s must be WxH with sides in 1..%d (e.g. 64x64), got '%s'", flag, max, text);
  *w = (int)a, *h = (int)b;
  return 0;
}
