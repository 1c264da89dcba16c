"""Call zlib with ferrotype: checksums over a buffer, and a compress/uncompress round trip
into buffers from create_string_buffer, with the length as an in/out parameter via byref.
Every result is checked against Python's own zlib module.

Run: .venv/bin/python examples/zlib_crc.py
"""

import sys
import zlib

import ferrotype as ctypes
from ferrotype.util import find_library


def show(what, got, expected):
    print(f"{what:<30} -> {got!r}")
    if got != expected:
        sys.exit(f"MISMATCH: {what}: expected {expected!r}, got {got!r}")


path = find_library("z")
if path is None:
    sys.exit("zlib not found (find_library('z') returned None)")
libz = ctypes.CDLL(path)
libz.zlibVersion.restype = ctypes.c_char_p  # const char *zlibVersion(void);
print(f"zlib {libz.zlibVersion().decode()} from {path}")

# zlib's types on Linux: uLong = unsigned long, uInt = unsigned int, Bytef = unsigned char.
uLong, uInt = ctypes.c_ulong, ctypes.c_uint
Z_OK = 0

# uLong crc32(uLong crc, const Bytef *buf, uInt len);  adler32 has the same signature.
for func in (libz.crc32, libz.adler32):
    func.argtypes = [uLong, ctypes.c_char_p, uInt]
    func.restype = uLong

data = b"ferrotype: ctypes, in Rust. " * 50 + bytes(range(256))  # NUL bytes included
# Passing None for buf (a NULL pointer) returns the checksum's initial value.
show("crc32 of data", libz.crc32(libz.crc32(0, None, 0), data, len(data)), zlib.crc32(data))
show("adler32 of data", libz.adler32(libz.adler32(0, None, 0), data, len(data)), zlib.adler32(data))

# uLong compressBound(uLong sourceLen);  the largest size compress() may produce
libz.compressBound.argtypes = [uLong]
libz.compressBound.restype = uLong
bound = libz.compressBound(len(data))
print(f"{'compressBound(len(data))':<30} -> {bound}")
if bound < len(data):
    sys.exit("MISMATCH: compressBound is smaller than the input")

# int compress(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen);
# int uncompress(same signature);  *destLen is the buffer size in, the bytes written out.
for func in (libz.compress, libz.uncompress):
    func.argtypes = [ctypes.POINTER(ctypes.c_char), ctypes.POINTER(uLong), ctypes.c_char_p, uLong]
    func.restype = ctypes.c_int

out = ctypes.create_string_buffer(bound)
out_len = uLong(bound)
show("compress(...) status", libz.compress(out, ctypes.byref(out_len), data, len(data)), Z_OK)
compressed = out.raw[: out_len.value]
print(f"{'compressed size':<30} -> {len(compressed)} of {len(data)} bytes")
show("zlib.decompress(it) == data", zlib.decompress(compressed) == data, True)

# And back: uncompress what Python's zlib compressed.
packed = zlib.compress(data)
back = ctypes.create_string_buffer(len(data))
back_len = uLong(len(data))
show(
    "uncompress(...) status",
    libz.uncompress(back, ctypes.byref(back_len), packed, len(packed)),
    Z_OK,
)
show("uncompressed length", back_len.value, len(data))
show("uncompressed == data", back.raw[: back_len.value] == data, True)

print("zlib_crc: all results correct")
