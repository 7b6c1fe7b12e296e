#!/usr/bin/python3
"""The table behind bench/fmnist-curve.sh's picture: for every point that has been
scored (DIR/scores/RUN-MIN.txt), the run's steps and CPU time at that point (ebm:
RUN@MIN/ckpt/last.clock.json; the reference: ref/at-SECs/info.json) and its four
numbers. Writes DIR/curve.tsv (FD against CPU minutes, for `ebm show curves`) and
DIR/curve.md (the Markdown table with KID), and prints the latter.

  /usr/bin/python3 bench/fmnist_curve_table.py DIR "20 120 480"
"""
import json
import os
import re
import sys

RUNS = [("pcd", "ebm PCD (--preset uva --lr 5e-4)"),
        ("icd", "ebm improved CD (--preset icd)"),
        ("ref", "PyTorch reference (ebm_ref.py)")]
SCORE = re.compile(r"^(fresh|buffer) \([^)]*\) (FD|KID)\s+([-0-9.]+)(?: ± ([0-9.]+))?")


def read_scores(path):
    got = {}
    with open(path) as f:
        for line in f:
            m = SCORE.match(line)
            if m:
                got[(m.group(1), m.group(2))] = (float(m.group(3)), m.group(4) and float(m.group(4)))
    return got


def read_clock(folder, run, minutes):
    path = (os.path.join(folder, "ref", "at-%ds" % (minutes * 60), "info.json") if run == "ref"
            else os.path.join(folder, "%s@%d" % (run, minutes), "ckpt", "last.clock.json"))
    with open(path) as f:
        clock = json.load(f)
    return int(clock["iter" if run == "ref" else "step"]), float(clock["cpu_seconds"])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: fmnist_curve_table.py DIR \"MINUTES...\"")
    folder, points = sys.argv[1], [int(m) for m in sys.argv[2].split()]
    rows = []  # (run, label, minutes, steps, cpu seconds, scores)
    for run, label in RUNS:
        for minutes in points:
            path = os.path.join(folder, "scores", "%s-%d.txt" % (run, minutes))
            if not os.path.exists(os.path.join(folder, "done", "score-%s-%d" % (run, minutes))):
                continue
            scores = read_scores(path)
            if len(scores) != 4:
                sys.exit("%s: expected fresh and buffer FD and KID, found %d of the four" % (path, len(scores)))
            steps, cpu = read_clock(folder, run, minutes)
            rows.append((run, label, minutes, steps, cpu, scores))
    if not rows:
        sys.exit("%s: no scored point yet (bench/fmnist-curve.sh run %s)" % (folder, folder))

    series = [(run, kind) for run, _ in RUNS for kind in ("fresh", "buffer")]
    with open(os.path.join(folder, "curve.tsv"), "w") as f:
        f.write("CPU minutes (1 thread)\t" + "\t".join("%s %s" % ("pytorch" if r == "ref" else "ebm " + r, k)
                                                      for r, k in series) + "\n")
        f.write("# FD (ebm eval fid) against fashion-mnist:test; fresh: 10000 chains of 60 steps from "
                "uniform noise; buffer: its first 1024 items; bench/fmnist-curve.sh\n")
        for run, _, _, _, cpu, scores in sorted(rows, key=lambda r: r[4]):
            cells = ["%.4f" % scores[(k, "FD")][0] if r == run else "-" for r, k in series]
            f.write("%.2f\t%s\n" % (cpu / 60, "\t".join(cells)))

    lines = ["| run | point (CPU-min) | steps | CPU s | fresh FD | fresh KID | buffer FD | buffer KID |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for _, label, minutes, steps, cpu, s in rows:
        kid = lambda k: "%.2f ± %.2f" % s[(k, "KID")]
        lines.append("| %s | %d | %d | %.1f | %.2f | %s | %.2f | %s |" % (
            label, minutes, steps, cpu, s[("fresh", "FD")][0], kid("fresh"), s[("buffer", "FD")][0], kid("buffer")))
    with open(os.path.join(folder, "curve.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
