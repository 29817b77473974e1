#!/usr/bin/env python3
"""Writes the safetensors fixtures in Tests/GlossaNNTests/Fixtures/safetensors/.

Reference files come from the `safetensors` Python package, version 0.8.0
(`pip install safetensors==0.8.0`), with numpy 2.4.6. numpy has no bfloat16, so the BF16 file
and every broken file are assembled byte by byte below. Run from the repository root:

    python3 scripts/make-safetensors-fixtures.py
"""
import json
import os
import struct

import numpy as np
from safetensors.numpy import save_file

OUT = os.path.join("Tests", "GlossaNNTests", "Fixtures", "safetensors")


def raw(header, data=b"", pad=True, length=None):
    """An 8-byte little-endian header length, the header text, then the data buffer."""
    text = header if isinstance(header, bytes) else header.encode()
    if pad:
        text += b" " * (-len(text) % 8)
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def put(name, content):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(content)


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def main():
    os.makedirs(OUT, exist_ok=True)

    # --- Valid files -------------------------------------------------------------------------
    save_file(
        {
            # zero, negative zero, exact values, the largest half, the smallest normal half,
            # the smallest subnormal half, and a value that needs rounding (1/3 → 0.333251953125).
            "half": np.array([[0.0, -0.0, 1.0, -2.5], [65504.0, 2.0**-14, 2.0**-24, 1.0 / 3.0]], dtype=np.float16),
            "special": np.array([np.inf, -np.inf, np.nan], dtype=np.float16),
            "weight": np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype=np.float32),
            "ids": np.array([0, 1, 2], dtype=np.int64),
            "mask": np.array([True, False]),
            "scalar": np.array(4.5, dtype=np.float32),
        },
        os.path.join(OUT, "reference-f16.safetensors"),
        metadata={"format": "np", "source": "glossa fixture"},
    )

    # BF16 bit patterns: 1, -2.5, +inf, -inf, NaN, the smallest subnormal (2^-133).
    bf16 = struct.pack("<6H", 0x3F80, 0xC020, 0x7F80, 0xFF80, 0x7FC0, 0x0001)
    put("bf16.safetensors", raw(json.dumps({"b": entry("BF16", [6], 0, 12)}), bf16))

    # A valid dtype Glossa does not convert.
    put("f8.safetensors", raw(json.dumps({"q": entry("F8_E4M3", [2], 0, 2)}), b"\x38\x40"))
    # An I64 beyond 2^24, which Float32 cannot hold exactly.
    put("i64-wide.safetensors", raw(json.dumps({"n": entry("I64", [1], 0, 8)}), struct.pack("<q", 2**40)))

    # --- Broken files ------------------------------------------------------------------------
    two_floats = struct.pack("<2f", 1.0, 2.0)
    ok = entry("F32", [2], 0, 8)
    put("too-short.safetensors", b"\x01\x00\x00\x00\x00")
    put("header-too-large.safetensors", struct.pack("<Q", 200_000_000) + b"{}      ")
    put("header-exceeds-file.safetensors", raw("{}", pad=True, length=100))
    put("not-json.safetensors", raw('{"a": {"dtype": "F32",'))
    put("not-object.safetensors", raw("[1, 2, 3]"))
    put("bad-metadata.safetensors", raw(json.dumps({"__metadata__": {"epoch": 3}, "a": ok}), two_floats))
    put("missing-dtype.safetensors", raw(json.dumps({"a": {"shape": [2], "data_offsets": [0, 8]}}), two_floats))
    put("missing-shape.safetensors", raw(json.dumps({"a": {"dtype": "F32", "data_offsets": [0, 8]}}), two_floats))
    put("missing-offsets.safetensors", raw(json.dumps({"a": {"dtype": "F32", "shape": [2]}}), two_floats))
    put("unknown-dtype.safetensors", raw(json.dumps({"a": entry("F7", [2], 0, 8)}), two_floats))
    put("negative-dim.safetensors", raw(json.dumps({"a": entry("F32", [-1, 2], 0, 8)}), two_floats))
    put("reversed-offsets.safetensors", raw(json.dumps({"a": entry("F32", [2], 8, 0)}), two_floats))
    put("size-mismatch.safetensors", raw(json.dumps({"a": entry("F32", [2, 2], 0, 8)}), two_floats))
    put(
        "overlapping.safetensors",
        raw(json.dumps({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}), two_floats + two_floats),
    )
    put("out-of-range.safetensors", raw(json.dumps({"a": entry("F32", [2], 64, 72)}), two_floats))
    # A whole valid file, cut 4 bytes short.
    put("truncated.safetensors", raw(json.dumps({"a": entry("F32", [4], 0, 16)}), two_floats + two_floats)[:-4])


if __name__ == "__main__":
    main()
