/* `ebm help --man`: the manual page ebm.1 in troff, generated from the
 * commands' own option tables (each command's run function is called with
 * --help while cli_help_as_man is set, so cli_print_help writes a man
 * section instead of the terminal help). The build writes build/ebm.1 with
 * it and `make install` installs that file: it never goes stale. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_help_as_man;

int cli_command_count(void);
const cli_command *cli_command_at(int i);

/* Text with troff's specials escaped: backslashes, '-' (so options copy as
 * ASCII hyphens) and a leading '.' or '\'' that would start a request. */
static void troff_text(FILE *out, const char *s) {
  int line_start = 1;
  for (; s && *s; s++) {
    if (line_start && (*s == '.' || *s == '\'')) fputs("\\&", out);
    if (*s == '\\') fputs("\\e", out);
    else if (*s == '-') fputs("\\-", out);
    else fputc(*s, out);
    line_start = *s == '\n';
  }
}

void cli_print_man_section(FILE *out, const char *verb, const cli_opt *opts, int nopts) {
  const cli_command *cmd = cli_find(verb);
  fputs(".SS \"ebm ", out);
  troff_text(out, verb);
  fputs("\"\n.B ebm ", out);
  troff_text(out, verb);
  fputc(' ', out);
  troff_text(out, cmd && cmd->synopsis ? cmd->synopsis : "[options]");
  fputs("\n.PP\n", out);
  if (cmd && cmd->summary) {
    troff_text(out, cmd->summary);
    fputs(".\n", out);
  }
  if (cmd && cmd->description) {
    fputs(".PP\n", out);
    troff_text(out, cmd->description);
    fputc('\n', out);
  }
  for (int i = 0; i < nopts; i++) {
    fputs(".TP\n.B \\-\\-", out);
    troff_text(out, opts[i].name);
    if (opts[i].metavar) {
      fputs(" \\fI", out);
      troff_text(out, opts[i].metavar);
      fputs("\\fR", out);
    }
    fputc('\n', out);
    troff_text(out, opts[i].help);
    cli_print_default(out, &opts[i]);
    fputc('\n', out);
  }
}

static int by_verb(const void *a, const void *b) {
  return strcmp((*(const cli_command *const *)a)->verb, (*(const cli_command *const *)b)->verb);
}

int cli_print_man_page(FILE *out) {
  int n = cli_command_count();
  const cli_command **sorted = malloc((size_t)(n > 0 ? n : 1) * sizeof *sorted);
  if (!sorted) return CLI_EXIT_RUNTIME;
  for (int i = 0; i < n; i++) sorted[i] = cli_command_at(i);
  qsort(sorted, (size_t)n, sizeof *sorted, by_verb);
  /* UTF-8 (λ, σ, α in the help texts): the coding line tells man(1) to run preconv. */
  fprintf(out, ".\\\" -*- coding: utf-8 -*-\n.TH EBM 1 \"\" \"ebm %s\" \"User Commands\"\n", ebm_version());
  fputs(".SH NAME\nebm \\- energy\\-based generative models: train, sample, evaluate and use them\n"
        ".SH SYNOPSIS\n.B ebm\n[\\-\\-version] [\\-\\-help] \\fIcommand\\fR [\\fIoptions\\fR]\n"
        ".SH DESCRIPTION\nTrains an energy E(x) by maximum likelihood with MCMC negatives, samples from it,\n"
        "evaluates it and uses it (composition, inpainting, out\\-of\\-distribution scores).\n"
        "Options are long, as \\fB\\-\\-name value\\fR or \\fB\\-\\-name=value\\fR. Results go to stdout or\n"
        "files, progress to stderr. Every command also takes \\fB\\-\\-threads\\fR \\fIN\\fR\n"
        "(default: EBM_THREADS or all cores) and \\fB\\-\\-help\\fR.\n"
        ".SH COMMANDS\n", out);
  cli_help_as_man = 1;
  for (int i = 0; i < n; i++) {
    char *argv[] = {(char *)sorted[i]->verb, "--help", NULL};
    sorted[i]->run(2, argv);
  }
  cli_help_as_man = 0;
  fputs(".SH EXIT STATUS\n0 on success, 1 on a runtime error (one line naming the file and the problem),\n"
        "2 on a usage error; \\fBebm train\\fR exits 130 (143) when stopped by SIGINT (SIGTERM).\n"
        ".SH ENVIRONMENT\n.TP\n.B EBM_THREADS\nworker threads when \\-\\-threads is not given.\n"
        ".SH SEE ALSO\n\\fBebm help\\fR \\fIcommand\\fR; the library's headers (ebm.h) and pkg\\-config ebm.\n",
        out);
  free(sorted);
  return CLI_EXIT_OK;
}
