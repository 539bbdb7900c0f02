#!/usr/bin/env python3
"""Section sizes of an ELF file, like `llvm-size -A`, with the Python 3 standard library only.

    elfsize.py FILE.elf

Prints `section size addr` for every section that occupies memory at run time (SHF_ALLOC), so the
firmware check needs neither arm-none-eabi binutils nor rustup's llvm-tools.
"""
import struct
import sys

SHF_ALLOC = 0x2


def sections(data):
    if data[:4] != b"\x7fELF":
        raise SystemExit("not an ELF file")
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
        fmt = end + "IIQQQQIIQQ"
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)
        fmt = end + "IIIIIIIIII"
    headers = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    str_off = headers[shstrndx][4]
    for name, _type, flags, addr, _off, size, *_ in headers:
        end_name = data.index(b"\0", str_off + name)
        yield data[str_off + name:end_name].decode(), flags, addr, size


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    print(f"{argv[1]}  :")
    print("section size addr")
    for name, flags, addr, size in sections(data):
        if flags & SHF_ALLOC:
            print(f"{name} {size} {addr}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
