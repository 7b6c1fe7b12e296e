"""Reading and writing .npy files with the standard library alone (the
build machines have no numpy): little-endian float32 / int32, C order.
Imported by the scripts beside it."""
import array
import ast
import math
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


def jacobi3(a):
    """Eigenvalues and eigenvectors (columns of v) of a symmetric 3×3 matrix."""
    a = [row[:] for row in a]
    v = [[1.0 if i == j else 0.0 for j in range(3)] for i in range(3)]
    for _ in range(100):
        off = max(abs(a[0][1]), abs(a[0][2]), abs(a[1][2]))
        if off < 1e-15:
            break
        for p, q in ((0, 1), (0, 2), (1, 2)):
            if abs(a[p][q]) < 1e-300:
                continue
            theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
            t = (1 if theta >= 0 else -1) / (abs(theta) + math.sqrt(theta * theta + 1))
            c = 1 / math.sqrt(t * t + 1)
            s = t * c
            for k in range(3):
                akp, akq = a[k][p], a[k][q]
                a[k][p], a[k][q] = c * akp - s * akq, s * akp + c * akq
            for k in range(3):
                apk, aqk = a[p][k], a[q][k]
                a[p][k], a[q][k] = c * apk - s * aqk, s * apk + c * aqk
            for k in range(3):
                vkp, vkq = v[k][p], v[k][q]
                v[k][p], v[k][q] = c * vkp - s * vkq, s * vkp + c * vkq
    return [a[i][i] for i in range(3)], v


def cloud_axes(p):
    """The principal axes of a cloud of points (flat list x0, y0, z0, x1, ...):
    the variances about its mean, largest first, and the unit axes in that
    order (three lists of 3)."""
    m = len(p) // 3
    mean = [sum(p[3 * j + k] for j in range(m)) / m for k in range(3)]
    cov = [[sum((p[3 * j + a] - mean[a]) * (p[3 * j + b] - mean[b]) for j in range(m)) / m for b in range(3)]
           for a in range(3)]
    w, v = jacobi3(cov)
    order = sorted(range(3), key=lambda k: -w[k])
    return [w[k] for k in order], [[v[r][k] for r in range(3)] for k in order]
