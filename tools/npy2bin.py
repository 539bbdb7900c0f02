#!/usr/bin/env python3
"""Raw little-endian bytes out of a .npy file, with the Python 3 standard library only (no numpy).

    npy2bin.py IN.npy OUT.bin     write the payload: float32 as is, int64 as int32 (token ids;
                                  values outside int32 are an error), int32 as is
    npy2bin.py --info IN.npy      print `crc32=<8 hex> len=<elements> head=<hex,...>`: zlib's CRC-32
                                  of the payload bytes (as converted above), the element count and
                                  the bit patterns of the first four elements

Reads format versions 1, 2 and 3, C order, dtypes '<f4', '<i8', '<i4' (and '|'/'=' byte orders
where they mean the same on little-endian data).
"""
import ast
import struct
import sys
import zlib

DTYPES = {"f4": ("f", 4), "i8": ("q", 8), "i4": ("i", 4)}


def read_npy(path):
    """Returns (kind, shape, payload bytes) with kind one of DTYPES."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise SystemExit(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack_from("<H", data, 8)
        start = 10
    elif major in (2, 3):
        (hlen,) = struct.unpack_from("<I", data, 8)
        start = 12
    else:
        raise SystemExit(f"{path}: unsupported .npy version {major}")
    header = ast.literal_eval(data[start:start + hlen].decode("utf-8" if major == 3 else "latin1"))
    descr = header["descr"]
    if not isinstance(descr, str) or descr[0] not in "<|=" or descr[1:] not in DTYPES:
        raise SystemExit(f"{path}: unsupported dtype {descr!r} (want <f4, <i8 or <i4)")
    if header["fortran_order"]:
        raise SystemExit(f"{path}: Fortran order is not supported")
    shape = tuple(header["shape"])
    kind = descr[1:]
    count = 1
    for d in shape:
        count *= d
    payload = data[start + hlen:]
    size = DTYPES[kind][1]
    if len(payload) != count * size:
        raise SystemExit(f"{path}: payload holds {len(payload)} bytes, shape {shape} needs {count * size}")
    return kind, shape, payload


def raw_bytes(path):
    """The payload as the MCU sees it: i64 narrowed to i32, everything little-endian."""
    kind, _shape, payload = read_npy(path)
    if kind != "i8":
        return payload
    values = struct.unpack(f"<{len(payload) // 8}q", payload)
    for v in values:
        if not -(2**31) <= v < 2**31:
            raise SystemExit(f"{path}: value {v} does not fit int32")
    return struct.pack(f"<{len(values)}i", *values)


def main(argv):
    if len(argv) == 3 and argv[1] == "--info":
        raw = raw_bytes(argv[2])
        words = [raw[i:i + 4] for i in range(0, min(len(raw), 16), 4)]
        head = ",".join(f"{int.from_bytes(w, 'little'):08x}" for w in words)
        print(f"crc32={zlib.crc32(raw):08x} len={len(raw) // 4} head={head}")
    elif len(argv) == 3 and not argv[1].startswith("-"):
        raw = raw_bytes(argv[1])
        with open(argv[2], "wb") as f:
            f.write(raw)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
