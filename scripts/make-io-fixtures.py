#!/usr/bin/python3
"""Writes the small io/ test fixtures into tests/fixtures/io/ with numpy and
the Python standard library only, the way other tools write these formats:
numpy's np.save for .npy, the PyTorch reference's save_safetensors (see
bench/torch_reference.py) for safetensors, gzip for idx.gz.
It also writes hostile/ (truncated, corrupted and lying files) whose
expected errors are listed in tests/io/test_hostile_files.c, and fuzz seeds.

Run from anywhere: /usr/bin/python3 scripts/make-io-fixtures.py
The output is deterministic (fixed values, gzip mtime 0)."""
import gzip
import io
import json
import os
import struct
import zlib

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "io")
HOSTILE = os.path.join(ROOT, "hostile")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=False)
    else:
        np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


def save_safetensors_bytes(tensors, metadata):
    """save_safetensors from bench/torch_reference.py, with numpy arrays instead of torch tensors."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = np.ascontiguousarray(t).astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def raw_safetensors(header_obj_or_bytes, data, pad=True):
    h = header_obj_or_bytes
    if not isinstance(h, bytes):
        h = json.dumps(h, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def idx_bytes(arr, type_byte=0x08):
    head = bytes([0, 0, type_byte, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width, height, bit_depth, color_type, rows, palette=None):
    """A minimal PNG (filter 0 on every row), as any encoder could write it."""
    raw = b"".join(b"\0" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(palette))
    return out + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def main():
    # --------------------------------------------------------------- npy
    f32 = np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype="<f4")
    write(os.path.join(ROOT, "f32_2x3.npy"), npy_bytes(f32))
    u8 = (np.arange(2 * 1 * 3 * 4) * 7 % 256).astype(np.uint8).reshape(2, 1, 3, 4)
    write(os.path.join(ROOT, "u8_2x1x3x4.npy"), npy_bytes(u8))
    write(os.path.join(ROOT, "f32_v2.npy"), npy_bytes(np.arange(5, dtype="<f4") / 4, version=(2, 0)))
    write(os.path.join(ROOT, "i64_labels.npy"), npy_bytes(np.array([3, 0, 9, 1], dtype="<i8")))
    write(os.path.join(ROOT, "i32_labels.npy"), npy_bytes(np.array([7, -1], dtype="<i4")))
    write(os.path.join(ROOT, "f32_scalar.npy"), npy_bytes(np.float32(2.5).reshape(())))
    write(os.path.join(ROOT, "f32_empty_0x3.npy"), npy_bytes(np.zeros((0, 3), dtype="<f4")))
    # to reject
    write(os.path.join(ROOT, "fortran.npy"), npy_bytes(np.asfortranarray(f32)))
    write(os.path.join(ROOT, "f8.npy"), npy_bytes(f32.astype("<f8")))
    write(os.path.join(ROOT, "big_endian.npy"), npy_bytes(f32.astype(">f4")))

    # ------------------------------------------------------- safetensors
    ref = {
        "net.0.weight": np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3) / 8 - 1,
        "net.0.bias": np.array([0.5, -0.25], dtype=np.float32),
        "net.2.weight": np.array([[1.0, 2.0]], dtype=np.float32),
    }
    meta = {"format": "ebm-ref", "arch": json.dumps({"hidden": 32}), "step": "50",
            "note": "caf\u00e9 \"quoted\"\n"}
    write(os.path.join(ROOT, "ref_model.safetensors"), save_safetensors_bytes(ref, meta))

    # ------------------------------------------------------------- idx
    imgs = (np.arange(3 * 4 * 5) * 11 % 256).astype(np.uint8).reshape(3, 4, 5)
    labels = np.array([2, 0, 9], dtype=np.uint8)
    write(os.path.join(ROOT, "images-3x4x5-idx3-ubyte"), idx_bytes(imgs))
    write(os.path.join(ROOT, "images-3x4x5-idx3-ubyte.gz"), gz(idx_bytes(imgs)))
    write(os.path.join(ROOT, "labels-3-idx1-ubyte.gz"), gz(idx_bytes(labels)))

    # ------------------------------------------------------------- png
    # Layouts our reader must convert to 8-bit gray / RGB.
    g16 = [0, 32896, 65535, 1000, 30000, 65280]
    write(os.path.join(ROOT, "gray16_3x2.png"), png_bytes(
        3, 2, 16, 0, [struct.pack(">3H", *g16[:3]), struct.pack(">3H", *g16[3:])]))
    write(os.path.join(ROOT, "rgba_2x2.png"), png_bytes(
        2, 2, 8, 6, [bytes([10, 20, 30, 0, 40, 50, 60, 255]), bytes([70, 80, 90, 128, 255, 0, 1, 7])]))
    write(os.path.join(ROOT, "palette2_4x1.png"), png_bytes(
        4, 1, 2, 3, [bytes([0b00011011])], palette=[255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 8, 7]))

    # --------------------------------------------------------- hostile
    good_st = save_safetensors_bytes(ref, meta)
    hl = struct.unpack("<Q", good_st[:8])[0]
    write(os.path.join(HOSTILE, "st_truncated_data.safetensors"), good_st[:-5])
    write(os.path.join(HOSTILE, "st_truncated_header.safetensors"), good_st[: 8 + hl // 2])
    write(os.path.join(HOSTILE, "st_huge_header_len.safetensors"),
          struct.pack("<Q", 1 << 40) + good_st[8:])
    one = np.ones(4, dtype="<f4").tobytes()
    write(os.path.join(HOSTILE, "st_overlap.safetensors"), raw_safetensors(
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, one))
    write(os.path.join(HOSTILE, "st_lying_shape.safetensors"), raw_safetensors(
        {"w": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 16]}}, one))
    write(os.path.join(HOSTILE, "st_not_json.safetensors"), raw_safetensors(b'{"w": [1, 2', one))
    write(os.path.join(HOSTILE, "st_unknown_dtype.safetensors"), raw_safetensors(
        {"w": {"dtype": "Q7", "shape": [4], "data_offsets": [0, 16]}}, one))
    write(os.path.join(HOSTILE, "st_duplicate.safetensors"), raw_safetensors(
        b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        b'"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', one))
    write(os.path.join(HOSTILE, "st_gap.safetensors"), raw_safetensors(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, one))
    write(os.path.join(HOSTILE, "st_meta_not_string.safetensors"), raw_safetensors(
        {"__metadata__": {"step": 5}, "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
        one))
    good_npy = npy_bytes(f32)
    write(os.path.join(HOSTILE, "npy_truncated_data.npy"), good_npy[:-3])
    write(os.path.join(HOSTILE, "npy_truncated_header.npy"), good_npy[:40])
    write(os.path.join(HOSTILE, "npy_lying_shape.npy"),
          good_npy.replace(b"(2, 3)", b"(9, 9)"))
    write(os.path.join(HOSTILE, "npy_bad_magic.npy"), b"\x93NUMPZ" + good_npy[6:])
    write(os.path.join(HOSTILE, "npy_bad_dict.npy"),
          good_npy.replace(b"'shape': (2, 3)", b"'shape': [2, 3]"))
    good_idx = idx_bytes(imgs)
    write(os.path.join(HOSTILE, "idx_truncated.idx.gz"), gz(good_idx)[:-12])
    write(os.path.join(HOSTILE, "idx_corrupt.idx.gz"),
          gz(good_idx)[:20] + bytes(b ^ 0x5A for b in gz(good_idx)[20:30]) + gz(good_idx)[30:])
    write(os.path.join(HOSTILE, "idx_lying_dims.idx.gz"), gz(idx_bytes(imgs)[:4] + struct.pack(
        ">III", 60000, 28, 28) + imgs.tobytes()))
    write(os.path.join(HOSTILE, "idx_float_type.idx"), idx_bytes(imgs, type_byte=0x0D))
    write(os.path.join(HOSTILE, "idx_short_data.idx"), good_idx[:-1])

    # ----------------------------------------------- fuzz seeds (JSON)
    # fuzz_st_json takes [u16 LE data size][JSON header text].
    seeds = os.path.join(ROOT, "seeds", "st_json")
    for i, body in enumerate([good_st[8:8 + hl], raw_safetensors(
            {"a": {"dtype": "U8", "shape": [2, 2], "data_offsets": [0, 4]},
             "b": {"dtype": "I64", "shape": [], "data_offsets": [4, 12]}}, b"")[8:]]):
        size = len(good_st) - 8 - hl if i == 0 else 12
        write(os.path.join(seeds, "seed%d.bin" % i), struct.pack("<H", size) + body)


if __name__ == "__main__":
    main()
