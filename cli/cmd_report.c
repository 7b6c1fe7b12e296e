/* `ebm report RUN`: the run directory as one self-contained HTML page
 * (ebm_report_write in src/report/). */
#include "cli.h"

#define VERB "report"

static int run_report(int argc, char **argv) {
  const char *out = NULL;
  cli_opt opts[] = {
      {"out", OPT_PATH_OUT, &out, "FILE", "where to write the page (default RUN/report.html)"},
  };
  char *pos[1];
  int npos = 0;
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, pos, 1, &npos);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (npos != 1) return cli_usage_error(VERB, "give one run directory");
  char files[3][4096]; /* what the page is made from may not be what it overwrites */
  static const char *const names[3] = {"metrics.jsonl", "config.json", "events.jsonl"};
  cli_path inputs[3];
  for (int i = 0; i < 3; i++) {
    snprintf(files[i], sizeof files[i], "%s/%s", pos[0], names[i]);
    inputs[i] = (cli_path){"RUN_DIR", files[i], OPT_PATH_IN};
  }
  if ((rc = cli_check_paths(VERB, opts, CLI_NOPTS(opts), inputs, 3))) return rc;
  ebm_status st = ebm_report_write(pos[0], out);
  if (st != EBM_OK) return cli_runtime_error(st);
  printf("wrote %s%s\n", out ? out : pos[0], out ? "" : "/report.html");
  return CLI_EXIT_OK;
}

CLI_COMMAND(report, VERB, "RUN_DIR [--out FILE]", "write a run's report: one HTML page with plots and samples",
            "Reads RUN_DIR (written by 'ebm train') and writes one self-contained HTML file: plots over\n"
            "the step of loss, e_pos/e_neg, gradient norm, learning rate, sampler acceptance, step size\n"
            "and the sampler's energy and gradient; resume, divergence and interruption marked on the\n"
            "step axis; the sample pictures as a strip over time; the evaluation results (RUN_DIR/eval*.json,\n"
            "RUN_DIR/eval/*.json) and config.json. No network, no JavaScript: open it in any browser.\n"
            "'ebm train --report' rewrites it at every --sample-every.",
            run_report)
