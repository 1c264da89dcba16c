"""A NumPy structured array handed to C: libc's `poll` takes an array of
`struct pollfd {int fd; short events; short revents;}` and fills in `revents` of each
element. The array goes in through `ndpointer` (checked in Rust, no copy), and through
`as_ctypes`; the results are read back with `as_array`, sharing the same memory."""

import os
import sys

import ferrotype as ctypes
import numpy as np
from ferrotype import ctypeslib
from ferrotype.util import find_library

POLLIN, POLLOUT = 0x001, 0x004

libc = ctypes.CDLL(find_library("c"), use_errno=True)
pollfd = np.dtype([("fd", np.int32), ("events", np.int16), ("revents", np.int16)])

failures = 0


def show(label, value, expected):
    global failures
    ok = value == expected
    failures += not ok
    print(f"{label:<44} -> {value!r}{'' if ok else f'  (expected {expected!r})'}")


r1, w1 = os.pipe()
r2, w2 = os.pipe()
os.write(w1, b"ready")  # r1 is readable, r2 is not; both write ends are writable

fds = np.zeros(4, pollfd)
fds["fd"] = [r1, w1, r2, w2]
fds["events"] = [POLLIN, POLLOUT, POLLIN, POLLOUT]

# 1. The structured array itself as the argument, checked by ndpointer.
libc.poll.argtypes = [
    ctypeslib.ndpointer(pollfd, ndim=1, flags="C_CONTIGUOUS,WRITEABLE"),
    ctypes.c_ulong,
    ctypes.c_int,
]
libc.poll.restype = ctypes.c_int
show("poll(ndarray of pollfd) ready count", libc.poll(fds, len(fds), 0), 3)
show("revents written into the ndarray", fds["revents"].tolist(), [POLLIN, POLLOUT, 0, POLLOUT])

# 2. The same memory as ferrotype structures (the dtype becomes a Structure type), passed
#    as a pointer, and read back with as_array.
fds["revents"] = 0
PollFd = ctypeslib.as_ctypes_type(pollfd)
show("as_ctypes_type(pollfd) size", ctypes.sizeof(PollFd), pollfd.itemsize)
structs = ctypeslib.as_ctypes(fds)
poll = libc["poll"]
poll.argtypes = [ctypes.POINTER(PollFd), ctypes.c_ulong, ctypes.c_int]
show("poll(as_ctypes(fds)) ready count", poll(structs, len(structs), 0), 3)
show("structs[0].revents", structs[0].revents, POLLIN)
back = ctypeslib.as_array(structs)
show("as_array(...) dtype equals the original", back.dtype == pollfd, True)
show("as_array(...)['revents']", back["revents"].tolist(), [POLLIN, POLLOUT, 0, POLLOUT])
show("as_array shares memory with the ndarray", np.shares_memory(back, fds), True)

# 3. Bad input is an ArgumentError naming the problem, not a crash.
try:
    libc.poll(fds[::2], 2, 0)
except ctypes.ArgumentError as e:
    show(
        "a strided view is refused",
        str(e),
        "argument 1: TypeError: array must have flags ['C_CONTIGUOUS', 'WRITEABLE']",
    )

for fd in (r1, w1, r2, w2):
    os.close(fd)
sys.exit(1 if failures else 0)
