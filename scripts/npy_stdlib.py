"""Reading and writing .npy files with the standard library alone (the
build machines have no numpy): little-endian float32 / int32, C order.
Imported by the scripts beside it."""
import array
import ast
import struct
import sys

_DESCR = {"f": "<f4", "i": "<i4"}


def read_npy(path, typecode="f"):
    """(shape, array.array(typecode)) of a float32 ('f') or int32 ('i') .npy; exits
    naming the file otherwise."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = data[6]
    hlen = struct.unpack("<H", data[8:10])[0] if major == 1 else struct.unpack("<I", data[8:12])[0]
    start = 10 if major == 1 else 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header["descr"] != _DESCR[typecode] or header["fortran_order"]:
        sys.exit(f"{path}: need {_DESCR[typecode]} in C order, got {header['descr']}")
    values = array.array(typecode)
    values.frombytes(data[start + hlen:])
    return tuple(header["shape"]), values


def read_videos(path):
    """(n, t, h, w, values) of float32 videos N×C×T×H×W or N×T×H×W (C·T frames of
    h×w each per video); exits naming the file when it has fewer than 4 axes."""
    shape, v = read_npy(path)
    if len(shape) < 4:
        sys.exit(f"{path}: need N×C×T×H×W or N×T×H×W videos, got {shape}")
    n, h, w = shape[0], shape[-2], shape[-1]
    return n, len(v) // (n * h * w), h, w, v


def write_npy(path, shape, values, typecode="f"):
    """Writes values (any iterable of numbers, or an array.array) as a version-1 .npy of
    float32 (typecode 'f') or int32 ('i'), header padded to 64 bytes as numpy does."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        _DESCR[typecode], "".join(f"{d}, " for d in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    if not isinstance(values, array.array) or values.typecode != typecode:
        values = array.array(typecode, values)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(values.tobytes())


def brightness_centre(v, base, h, w):
    """(row, column, total brightness) of the centre of brightness of the h×w
    frame v[base:base+h*w]; an all-dark frame's centre is the frame's middle."""
    total = sy = sx = 0.0
    for y in range(h):
        row = v[base + y * w:base + (y + 1) * w]
        s = sum(row)
        total += s
        sy += y * s
        sx += sum(x * p for x, p in enumerate(row))
    return (sy / total, sx / total, total) if total > 0 else ((h - 1) / 2, (w - 1) / 2, 0.0)

