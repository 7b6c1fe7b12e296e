#!/usr/bin/env python3
"""The inputs of the cross-class mapping test (README "Using a model"), and
its conversion grid. Standard library only.

    scripts/translate-sets.py sets DIR
        DIR/xC.npy: the first 20 Fashion-MNIST test images whose label is not
        C (float32 N×1×28×28 in [0, 1]), DIR/yC.npy: 20 int32 labels C, for
        C = 0..9; DIR/src.npy: the first test image of each class (10 images,
        class order).
    scripts/translate-sets.py grid DIR OUT.npy
        OUT.npy: a 10×11 grid in reading order — each row a source image of
        DIR/src.npy followed by its translations to classes 0..9, read from
        DIR/gC.npy (src.npy translated to class C) — for
        `ebm data show npy:OUT.npy --first --cols 11 --n 110`."""
import array
import ast
import gzip
import struct
import sys

FMNIST = "/usr/share/datasets/fashion-mnist/"
SIDE = 28
ITEM = SIDE * SIDE
PER_CLASS = 20


def read_idx(name, offset):
    try:
        with gzip.open(FMNIST + name) as f:
            return f.read()[offset:]
    except OSError as e:
        sys.exit(f"{FMNIST}{name}: {e} (install dataset-fashion-mnist)")


def write_npy(path, shape, typecode, values):
    descr = {"f": "<f4", "i": "<i4"}[typecode]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join(f"{d}, " for d in shape))
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(array.array(typecode, values).tobytes())


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = data[6]
    hlen = struct.unpack("<H", data[8:10])[0] if major == 1 else struct.unpack("<I", data[8:12])[0]
    start = 10 if major == 1 else 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(f"{path}: need little-endian float32 in C order, got {header['descr']}")
    values = array.array("f")
    values.frombytes(data[start + hlen:])
    return tuple(header["shape"]), values


def make_sets(out):
    pixels = read_idx("t10k-images-idx3-ubyte.gz", 16)
    labels = read_idx("t10k-labels-idx1-ubyte.gz", 8)

    def image(i):
        return [b / 255.0 for b in pixels[i * ITEM:(i + 1) * ITEM]]

    for c in range(10):
        picked = [i for i in range(len(labels)) if labels[i] != c][:PER_CLASS]
        write_npy(f"{out}/x{c}.npy", (PER_CLASS, 1, SIDE, SIDE), "f", [v for i in picked for v in image(i)])
        write_npy(f"{out}/y{c}.npy", (PER_CLASS,), "i", [c] * PER_CLASS)
    first = [labels.index(c) for c in range(10)]
    write_npy(f"{out}/src.npy", (10, 1, SIDE, SIDE), "f", [v for i in first for v in image(i)])


def make_grid(out, path):
    _, src = read_npy(f"{out}/src.npy")
    translated = [read_npy(f"{out}/g{c}.npy")[1] for c in range(10)]
    grid = []
    for row in range(10):
        grid.extend(src[row * ITEM:(row + 1) * ITEM])
        for c in range(10):
            grid.extend(translated[c][row * ITEM:(row + 1) * ITEM])
    write_npy(path, (110, 1, SIDE, SIDE), "f", grid)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "sets":
        make_sets(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "grid":
        make_grid(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
