#!/usr/bin/env python3
"""Writes an idx(.gz) image set as a dequantised float32 .npy for `ebm energy`:
x = b/255 + u/256, u ~ U(0, 1) per value (seeded), shape (N, 1, H, W). The
bins [b/255, b/255 + 1/256) are disjoint, so a flow's mean −log q on these
points, plus D·ln 256, bounds the test NLL of the 8-bit data from above:
bits/dim ≤ (mean −log q + D·ln 256) / (D·ln 2). Standard library only.

usage: dequantised-test-npy.py IMAGES.idx[.gz] OUT.npy [N] [SEED]"""
import gzip
import random
import struct
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    data = (gzip.open if src.endswith(".gz") else open)(src, "rb").read()
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    if magic != 0x803:
        sys.exit(f"{src}: not an idx image file (magic {magic:#x})")
    if limit:
        n = min(n, limit)
    pixels = data[16:16 + n * h * w]
    values = [b / 255.0 + rng.random() / 256.0 for b in pixels]
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 1, %d, %d), }" % (n, h, w)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(out, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))


if __name__ == "__main__":
    main()
