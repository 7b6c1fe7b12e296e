/* ebm — the command-line tool. Dispatches `ebm VERB [SUBVERB] [options]` to
 * the commands registered by cli/cmd_*.c. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_command_count(void);
const cli_command *cli_command_at(int i);

static int compare_commands(const void *a, const void *b) {
  return strcmp((*(const cli_command *const *)a)->verb, (*(const cli_command *const *)b)->verb);
}

/* Lists commands whose verb starts with `prefix` ("" for all). */
static void list_commands(FILE *out, const char *prefix) {
  int n = cli_command_count();
  const cli_command **sorted = malloc((size_t)(n > 0 ? n : 1) * sizeof *sorted);
  if (!sorted) return;
  for (int i = 0; i < n; i++) sorted[i] = cli_command_at(i);
  qsort(sorted, (size_t)n, sizeof *sorted, compare_commands);
  for (int i = 0; i < n; i++)
    if (strncmp(sorted[i]->verb, prefix, strlen(prefix)) == 0)
      fprintf(out, "  %-18s %s\n", sorted[i]->verb, sorted[i]->summary);
  free(sorted);
}

static void print_main_help(FILE *out) {
  fprintf(out,
          "usage: ebm [--version] [--help] <command> [options]\n\n"
          "Energy-based generative models: train E(x) by maximum likelihood with MCMC\n"
          "negatives, sample from it, evaluate it, and use it.\n\n"
          "Commands:\n");
  list_commands(out, "");
  fprintf(out,
          "\nRun 'ebm help <command>' or 'ebm <command> --help' for a command's options;\n"
          "'ebm help --man' prints this manual as a man page (installed as ebm.1).\n"
          "Every command takes --threads N (default: EBM_THREADS or all cores).\n"
          "EBM_ISA=avx512|avx2|generic forces a kernel path (default: the best this CPU\n"
          "supports); 'ebm version' shows the path and BLAS library in use.\n");
}

/* Finds the command for argv[1] (and argv[2] for two-word verbs). Sets
 * *consumed to the number of words used. */
static const cli_command *resolve(int argc, char **argv, int *consumed) {
  if (argc >= 3) {
    char two[128];
    snprintf(two, sizeof two, "%s %s", argv[1], argv[2]);
    const cli_command *cmd = cli_find(two);
    if (cmd) {
      *consumed = 2;
      return cmd;
    }
  }
  *consumed = 1;
  return cli_find(argv[1]);
}

static int has_subcommands(const char *word) {
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s ", word);
  for (int i = 0; i < cli_command_count(); i++)
    if (strncmp(cli_command_at(i)->verb, prefix, strlen(prefix)) == 0) return 1;
  return 0;
}

/* The word a mistyped `word` most likely meant among the words that follow
 * `prefix` ("" for commands, "eval " for eval's subcommands), or NULL. */
static const char *near_word(const char *word, const char *prefix) {
  static char words[128][32];
  const char *cands[128];
  int n = 0;
  const size_t plen = strlen(prefix);
  for (int i = 0; i < cli_command_count() && n < 128; i++) {
    const char *verb = cli_command_at(i)->verb;
    if (strncmp(verb, prefix, plen) != 0) continue;
    const char *w = verb + plen;
    const size_t wlen = strcspn(w, " ");
    if (wlen == 0 || wlen >= sizeof words[0]) continue;
    memcpy(words[n], w, wlen);
    words[n][wlen] = '\0';
    cands[n] = words[n];
    n++;
  }
  return cli_suggest(word, strlen(word), cands, n);
}

static int help_for(int argc, char **argv) {
  if (argc < 1) {
    print_main_help(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[0], "--man") == 0) return cli_print_man_page(stdout);
  char *args[4] = {"ebm", argv[0], argc > 1 ? argv[1] : NULL, NULL};
  int consumed;
  const cli_command *cmd = resolve(argc > 1 ? 3 : 2, args, &consumed);
  if (cmd) {
    char *help_argv[] = {(char *)cmd->verb, "--help", NULL};
    return cmd->run(2, help_argv) == CLI_EXIT_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  if (has_subcommands(argv[0])) {
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s ", argv[0]);
    printf("usage: ebm %s <subcommand> [options]\n\nSubcommands:\n", argv[0]);
    list_commands(stdout, prefix);
    return CLI_EXIT_OK;
  }
  const char *near = near_word(argv[0], "");
  if (near) fprintf(stderr, "ebm: unknown command '%s'; did you mean '%s'?\n", argv[0], near);
  else fprintf(stderr, "ebm: unknown command '%s'\n", argv[0]);
  return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_main_help(stderr);
    return CLI_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    print_main_help(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("ebm %s\n", ebm_version());
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "help") == 0) return help_for(argc - 2, argv + 2);

  if (ebm_isa_init() != EBM_OK) { /* a bad EBM_ISA: say so before any work */
    fprintf(stderr, "ebm: %s\n", ebm_last_error());
    return CLI_EXIT_USAGE;
  }
  int consumed;
  const cli_command *cmd = resolve(argc, argv, &consumed);
  if (!cmd) {
    if (has_subcommands(argv[1])) {
      if (argc >= 3 && strncmp(argv[2], "-", 1) != 0) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s ", argv[1]);
        const char *near = near_word(argv[2], prefix);
        if (near) {
          fprintf(stderr, "ebm: unknown subcommand '%s %s'; did you mean '%s %s'?\n", argv[1], argv[2], argv[1], near);
          return CLI_EXIT_USAGE;
        }
        fprintf(stderr, "ebm: unknown subcommand '%s %s'\n", argv[1], argv[2]);
      }
      else if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0))
        return help_for(1, argv + 1);
      char *sub[] = {argv[1]};
      help_for(1, sub);
      return CLI_EXIT_USAGE;
    }
    const char *near = near_word(argv[1], "");
    if (near) {
      fprintf(stderr, "ebm: unknown command '%s'; did you mean '%s'? ('ebm --help' lists the commands)\n", argv[1],
              near);
      return CLI_EXIT_USAGE;
    }
    fprintf(stderr, "ebm: unknown command '%s'\n", argv[1]);
    print_main_help(stderr);
    return CLI_EXIT_USAGE;
  }
  int rc = cli_mnist_first_use(argc - consumed, argv + consumed);
  if (rc == CLI_EXIT_OK) rc = cmd->run(argc - consumed, argv + consumed);
  ebm_threads_shutdown();
  return rc < 0 ? CLI_EXIT_OK : rc;
}
