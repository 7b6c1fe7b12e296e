/* "did you mean '--ckpt'?" for a mistyped option or command, as git does:
 * the closest candidate by optimal string alignment distance (edits,
 * transpositions), offered only when it is close enough to be a typo. */
#include <string.h>

#include "cli.h"

/* Optimal string alignment distance of a[0..n) and b[0..m), both short
 * (names of options and verbs); larger than any useful answer otherwise. */
static int typo_distance(const char *a, size_t n, const char *b, size_t m) {
  enum { MAX = 40 };
  if (n >= MAX || m >= MAX) return MAX;
  int d[MAX][MAX];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      const int cost = a[i - 1] != b[j - 1];
      int best = d[i - 1][j - 1] + cost;
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[n][m];
}

const char *cli_suggest(const char *given, size_t len, const char *const *candidates, int n) {
  /* a third of the name, at least 1 and at most 2 edits: "smaple" → sample,
   * "dat" → data, but "x" suggests nothing */
  int limit = (int)len / 3;
  limit = limit < 1 ? 1 : limit > 2 ? 2 : limit;
  const char *best = NULL;
  int best_d = limit + 1;
  for (int i = 0; i < n; i++) {
    if (!candidates[i]) continue;
    const int d = typo_distance(given, len, candidates[i], strlen(candidates[i]));
    if (d < best_d) best_d = d, best = candidates[i];
  }
  return len > 1 ? best : NULL;
}
