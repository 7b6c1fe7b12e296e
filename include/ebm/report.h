/* ebm/report.h — a training run as one web page. Include <ebm.h>.
 *
 * ebm_report_write reads a run directory (ebm/train.h) and writes a single
 * self-contained HTML file a browser opens without network access or
 * JavaScript:
 *   - plots (inline SVG) over the training step of every metric the run
 *     logged in metrics.jsonl: loss, e_pos and e_neg, the parameter
 *     gradient norm, the learning rate, the sampler's acceptance, energy and
 *     gradient norm at its last step, and the sampler step size (a metric
 *     when logged, else the constant of config.json);
 *   - the events of events.jsonl (start, resume, divergence, interruption)
 *     as vertical marks on every plot's step axis, and listed with their
 *     messages;
 *   - the sample pictures samples/step_N.png as a strip over time (PNG
 *     inlined as data: URIs);
 *   - config.json as a table;
 *   - evaluation results when present: every RUN/eval*.json and
 *     RUN/eval/ *.json file, flattened to key → value tables.
 * Missing parts are left out (a run that has not logged yet gives a page
 * that says so). */
#ifndef EBM_REPORT_H
#define EBM_REPORT_H

#include "ebm/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the report of `run_dir` to `out_path` (NULL: run_dir/report.html)
 * atomically (temp file + rename), so a browser reloading it never sees half
 * a page. Errors: EBM_ERR_IO naming the run directory when it has no
 * metrics.jsonl and no config.json (not a run), EBM_ERR_FORMAT naming the
 * file and line of a malformed metrics or events line. */
ebm_status ebm_report_write(const char *run_dir, const char *out_path);

#ifdef __cplusplus
}
#endif
#endif
