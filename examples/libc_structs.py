"""Arrays of structures passed to real C functions: scatter/gather I/O with libc's
`writev` and `readv`, which take an array of `struct iovec`."""

import os
import sys

import ferrotype as ctypes
from ferrotype.util import find_library

libc = ctypes.CDLL(find_library("c"), use_errno=True)


class iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


for name in ("writev", "readv"):
    f = getattr(libc, name)
    f.argtypes = [ctypes.c_int, ctypes.POINTER(iovec), ctypes.c_int]
    f.restype = ctypes.c_ssize_t

failures = 0


def show(label, value, expected):
    global failures
    ok = value == expected
    failures += not ok
    print(f"{label:<40} -> {value!r}{'' if ok else f'  (expected {expected!r})'}")


parts = [b"structs ", b"by reference ", b"in one call"]
buffers = [ctypes.create_string_buffer(p, len(p)) for p in parts]
# An array of structures, each initialised from a tuple, as in ctypes.
out = (iovec * len(parts))(*[(ctypes.addressof(b), len(b)) for b in buffers])
show("sizeof(struct iovec)", ctypes.sizeof(iovec), 2 * ctypes.sizeof(ctypes.c_void_p))

read_fd, write_fd = os.pipe()
written = libc.writev(write_fd, out, len(out))
show("writev(pipe, iov[3], 3)", written, sum(map(len, parts)))

# Gather it back into two buffers of different sizes.
first, second = ctypes.create_string_buffer(10), ctypes.create_string_buffer(64)
into = (iovec * 2)((ctypes.addressof(first), 10), (ctypes.addressof(second), 64))
got = libc.readv(read_fd, into, 2)
os.close(read_fd)
os.close(write_fd)
show("readv(pipe, iov[2], 2)", got, written)
show("first buffer", first.raw, b"".join(parts)[:10])
show("second buffer", second.value, b"".join(parts)[10:])
show("iov[1].iov_len", into[1].iov_len, 64)

print(f"libc_structs: {'all results correct' if not failures else f'{failures} WRONG'}")
sys.exit(1 if failures else 0)
