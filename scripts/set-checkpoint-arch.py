#!/usr/bin/env python3
"""Writes a copy of a safetensors checkpoint whose metadata "arch" is replaced
by the text of an architecture JSON file, the tensors untouched: the lying
checkpoints of README "File formats" (a small file claiming a wide layer or a
huge input). Usage: set-checkpoint-arch.py IN.safetensors ARCH.json OUT.safetensors"""
import json
import struct
import sys

if len(sys.argv) != 4:
    sys.exit(__doc__.splitlines()[-1].strip())
src, arch_path, out = sys.argv[1:]
data = open(src, "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8 : 8 + n])
header.setdefault("__metadata__", {})["arch"] = open(arch_path).read().strip()
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)  # keep the tensor data 8-byte aligned
open(out, "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n :])
