"""Mutators for the fuzz targets (tests/fuzz_targets.py): byte-level and format-aware.

Byte level (AFL-style): bit flips, interesting integers, chunk deletion, duplication,
insertion, truncation, splicing from another file. Format-aware: DICOM header elements
set to hostile values, NIfTI-1 header fields, NRRD header lines, JSON nodes. All are
deterministic in the ``random.Random`` they are given.
"""

from __future__ import annotations

import json
import random
import struct
from typing import Any

_INTERESTING_INTS = (0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 127, 128, 255, 256, 1000, 1024, 4096,
                     32767, 32768, 65535, 65536, 100000, 2**31 - 1, 2**31, 2**32 - 1, -1, -2, -128, -32768, -2**31)
_INTERESTING_TEXT = ("", "0", "-0", "1", "-1", "NaN", "nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "abc",
                     "65536", "4294967296", "99999999999999999999", "1\\2", "1\\0\\0", "0\\0\\0\\0\\0\\0",
                     "\x00", "../../etc/passwd", "/dev/zero", "/dev/stdin", "%s%n", "ÿþ", "𝕏" * 3, "1" * 400)


def mutate_bytes(data: bytes, rng: random.Random, others: list[bytes] | None = None) -> bytes:
    """1-4 stacked byte-level mutations (AFL-style), biased towards the first 2 KB (headers)."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        if not out:
            out += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
            continue
        span = len(out) if rng.random() < 0.3 else min(len(out), 2048)
        pos = rng.randrange(span)
        op = rng.randrange(9)
        if op == 0:
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:
            value = rng.choice(_INTERESTING_INTS)
            fmt = rng.choice(("<h", "<H", "<i", "<I", ">h", ">i"))
            try:
                packed = struct.pack(fmt, value)
            except struct.error:
                packed = struct.pack(fmt[0] + fmt[1].upper(), value & (0xFFFF if fmt[1] in "hH" else 0xFFFFFFFF))
            out[pos:pos + len(packed)] = packed
        elif op == 3:
            del out[pos:pos + rng.choice((1, 2, 4, 8, 64, 512))]
        elif op == 4:
            n = rng.choice((1, 4, 16, 128))
            out[pos:pos] = out[pos:pos + n]
        elif op == 5:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 16))))
        elif op == 6:
            del out[rng.randrange(len(out)):]
        elif op == 7 and others:
            donor = rng.choice(others)
            if donor:
                start = rng.randrange(len(donor))
                out[pos:pos + rng.randrange(1, 256)] = donor[start:start + rng.randrange(1, 256)]
        else:
            for i in range(pos, min(len(out), pos + rng.choice((2, 4, 8)))):
                out[i] = rng.randrange(256)
    return bytes(out)


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choices: list[Any] = [None, True, False, 0, -1, 1.5, 1e308, -1e308, 10**400, "", "x", "NaN", "\u0000", "a" * 300]
    if depth < 2:
        choices += [[], {}, [_random_json(rng, depth + 1)], {"k": _random_json(rng, depth + 1)}]
    value = rng.choice(choices)
    if value == "NaN" and rng.random() < 0.5:
        value = float("nan")
    return value


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    """Replace, delete or add a node of the JSON document (structure-aware), or mutate bytes."""
    try:
        doc = json.loads(data)
    except ValueError:
        return mutate_bytes(data, rng)
    for _ in range(rng.choice((1, 1, 2, 3))):
        nodes: list[tuple[Any, Any]] = []
        stack: list[Any] = [doc]
        while stack:
            node = stack.pop()
            keys = list(node.keys()) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
            for key in keys:
                nodes.append((node, key))
                stack.append(node[key])
        if not nodes:
            break
        parent, key = rng.choice(nodes)
        op = rng.randrange(4)
        if op == 0 and isinstance(parent, dict):
            del parent[key]
        elif op == 1 and isinstance(parent, dict):
            parent[rng.choice(("extra", "../x", str(key) + "_"))] = _random_json(rng)
        elif op == 2 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = rng.choice((0, -1, 2**63, 1e-300, float("inf"), float("nan"), parent[key] * -1))
        else:
            parent[key] = _random_json(rng)
    return json.dumps(doc).encode() if rng.random() < 0.85 else mutate_bytes(json.dumps(doc).encode(), rng)


_DICOM_KEYWORDS = ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                   "SamplesPerPixel", "NumberOfFrames", "ImagePositionPatient", "ImageOrientationPatient",
                   "PixelSpacing", "RescaleSlope", "RescaleIntercept", "PhotometricInterpretation",
                   "PlanarConfiguration", "SeriesInstanceUID", "Modality", "SliceThickness", "InstanceNumber",
                   "FrameOfReferenceUID", "SOPClassUID", "PatientAge", "KVP", "GantryDetectorTilt")


def mutate_dicom(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """Set one or two header elements to hostile values (via pydicom), else byte-level mutation."""
    if rng.random() < 0.5:
        return mutate_bytes(data, rng, others)
    import io

    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        for _ in range(rng.choice((1, 1, 2))):
            keyword = rng.choice(_DICOM_KEYWORDS + ("TransferSyntaxUID", "PixelData"))
            if keyword == "TransferSyntaxUID":
                ds.file_meta.TransferSyntaxUID = rng.choice(
                    ("1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5",
                     "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.1.99", "1.2.3", ""))
            elif keyword == "PixelData" and "PixelData" in ds:
                pixels = ds.PixelData
                ds.PixelData = pixels[: rng.randrange(len(pixels) + 1)] if rng.random() < 0.7 else pixels * 2
            elif keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                             "SamplesPerPixel", "PlanarConfiguration"):
                setattr(ds, keyword, rng.choice((0, 1, 2, 3, 8, 12, 16, 17, 32, 64, 255, 4096, 65535)))
            elif keyword in ("NumberOfFrames", "InstanceNumber"):
                setattr(ds, keyword, rng.choice(("0", "-1", "2", "3", "1000000", "2147483648", "1e9", "x", "")))
            else:
                setattr(ds, keyword, rng.choice(_INTERESTING_TEXT))
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=False)
        return buffer.getvalue()
    except Exception:  # noqa: BLE001 - the mutator may build what pydicom cannot write: mutate bytes instead
        return mutate_bytes(data, rng, others)


# NIfTI-1 header fields: (offset, struct format, count)
_NIFTI_FIELDS = ((0, "<i", 1), (40, "<h", 8), (70, "<h", 1), (72, "<h", 1), (76, "<f", 8), (108, "<f", 1),
                 (112, "<f", 1), (116, "<f", 1), (252, "<h", 1), (254, "<h", 1), (256, "<f", 6), (280, "<f", 12),
                 (123, "<b", 1), (344, "4s", 1))


def mutate_nifti(data: bytes, rng: random.Random) -> bytes:
    """Hostile values in the NIfTI-1 header fields (dim, datatype, pixdim, vox_offset, scaling, q/sform)."""
    if rng.random() < 0.35 or len(data) < 352:
        return mutate_bytes(data, rng)
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2))):
        offset, fmt, count = rng.choice(_NIFTI_FIELDS)
        index = rng.randrange(count)
        size = struct.calcsize(fmt)
        where = offset + index * size
        if fmt == "4s":
            value = struct.pack(fmt, rng.choice((b"n+1\x00", b"ni1\x00", b"n+2\x00", b"xxxx")))
        elif fmt == "<f":
            value = struct.pack(fmt, rng.choice((0.0, -1.0, 1e-30, 1e30, float("inf"), float("nan"), 3.0, 352.0, 1e9)))
        else:
            bits = 8 * size
            value = struct.pack(fmt.upper(), rng.choice(_INTERESTING_INTS) & ((1 << bits) - 1))
        out[where:where + size] = value
    return bytes(out)


_NRRD_FIELDS = {
    "type": ("short", "int", "double", "uchar", "block", "int64", "xyz", ""),
    "dimension": ("0", "1", "2", "3", "4", "17", "-1", "x"),
    "sizes": ("0 0 0", "1 1 1", "4 4", "4 4 4 4", "100000 100000 100000", "-1 4 4", "4 4 x", "3000000000 2 2"),
    "encoding": ("raw", "gzip", "ascii", "bzip2", "hex", "none", ""),
    "endian": ("big", "little", "middle"),
    "space": ("left-posterior-superior", "RAS", "scanner-xyz", "3D-right-handed", ""),
    "space directions": ("(1,0,0) (0,1,0) (0,0,1)", "none (1,0,0) (0,1,0)", "(0,0,0) (0,0,0) (0,0,0)",
                         "(nan,0,0) (0,1,0) (0,0,1)", "(1,0) (0,1) (0,0)", "(1,0,0)"),
    "space origin": ("(0,0,0)", "(nan,0,0)", "(1,2)", "(inf,0,0)", "x"),
    "kinds": ("domain domain domain", "vector domain domain", "space space", "list list list"),
    "data file": ("/dev/zero", "/dev/stdin", "../../etc/passwd", "missing.raw", "LIST"),
    "byte skip": ("-1", "0", "100000", "x"),
    "line skip": ("-1", "1", "1000000"),
    "space units": ('"mm" "mm" "mm"', '"cm" "mm" "mm"', '"mm"'),
}


def mutate_nrrd(data: bytes, rng: random.Random) -> bytes:
    """Rewrite, drop or add a header line of a NRRD, else byte-level mutation."""
    if rng.random() < 0.35 or b"\n\n" not in data:
        return mutate_bytes(data, rng)
    head, _, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").split("\n")
    for _ in range(rng.choice((1, 1, 2))):
        field = rng.choice(sorted(_NRRD_FIELDS))
        value = rng.choice(_NRRD_FIELDS[field])
        kept = [line for line in lines if not line.lower().startswith(field + ":")]
        if rng.random() < 0.15:
            lines = kept
        else:
            lines = kept + [f"{field}: {value}"]
    return "\n".join(lines).encode("latin-1") + b"\n\n" + body
