#!/usr/bin/env python3
"""Centre crops of every frame of a video .npy, for `ebm eval fid`.

    scripts/npy-centre-crop.py IN.npy OUT.npy [SIDE]

IN is float32 N×C×T×H×W (or N×(C·T)×H×W, what `ebm sample` writes for a
video model, with C = 1); OUT is float32 (N·T)×SIDE×SIDE (default 28, the
Fashion-MNIST classifier's input): the SIDE×SIDE square at the centre of
each frame. Standard library only (no numpy on the build machines)."""
import array
import ast
import struct
import sys


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


def write_npy(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{d}, " for d in shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        values.tofile(f)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    side = int(sys.argv[3]) if len(sys.argv) == 4 else 28
    shape, v = read_npy(sys.argv[1])
    if len(shape) < 4:
        sys.exit(f"{sys.argv[1]}: need N×C×T×H×W or N×T×H×W, got {shape}")
    h, w = shape[-2], shape[-1]
    frames = len(v) // (h * w)
    if side > h or side > w:
        sys.exit(f"{sys.argv[1]}: frames of {h}x{w} are smaller than the crop {side}")
    y0, x0 = (h - side) // 2, (w - side) // 2
    out = array.array("f")
    for f in range(frames):
        base = f * h * w
        for y in range(y0, y0 + side):
            row = base + y * w + x0
            out.extend(v[row:row + side])
    write_npy(sys.argv[2], (frames, side, side), out)


if __name__ == "__main__":
    main()
