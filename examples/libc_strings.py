"""Call libc with ferrotype: strings in, integers out, an out-parameter, a returned char *.

Run: .venv/bin/python examples/libc_strings.py
"""

import os
import sys

import ferrotype as ctypes
from ferrotype.util import find_library


def show(what, got, expected):
    print(f"{what:<34} -> {got!r}")
    if got != expected:
        sys.exit(f"MISMATCH: {what}: expected {expected!r}, got {got!r}")


libc = ctypes.CDLL(find_library("c"))

# size_t strlen(const char *s);  bytes are passed as a pointer to their data
libc.strlen.argtypes = [ctypes.c_char_p]
libc.strlen.restype = ctypes.c_size_t
show("strlen(b'hello, world')", libc.strlen(b"hello, world"), 12)

# int abs(int);  long labs(long);  a C long holds 64 bits on Linux x86-64 and arm64
libc.abs.argtypes = [ctypes.c_int]
libc.abs.restype = ctypes.c_int
libc.labs.argtypes = [ctypes.c_long]
libc.labs.restype = ctypes.c_long
show("abs(-42)", libc.abs(-42), 42)
show("labs(-2**40)", libc.labs(-(2**40)), 2**40)

# int toupper(int c);  applied to each byte
libc.toupper.argtypes = [ctypes.c_int]
libc.toupper.restype = ctypes.c_int
show("toupper over b'ferrotype'", bytes(libc.toupper(c) for c in b"ferrotype"), b"FERROTYPE")

# long strtol(const char *s, char **end, int base);  `end` is an out-parameter:
# pass byref(a c_char_p) and strtol stores where parsing stopped.
libc.strtol.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
libc.strtol.restype = ctypes.c_long
text = b"0x1f apples"
end = ctypes.c_char_p()
show("strtol(b'0x1f apples', &end, 16)", libc.strtol(text, ctypes.byref(end), 16), 31)
show("  end", end.value, b" apples")

# char *getenv(const char *name);  a c_char_p restype gives bytes, or None for NULL
libc.getenv.argtypes = [ctypes.c_char_p]
libc.getenv.restype = ctypes.c_char_p
os.environ["FERROTYPE_EXAMPLE"] = "hello from the environment"  # os.environ calls putenv
show(
    "getenv(b'FERROTYPE_EXAMPLE')", libc.getenv(b"FERROTYPE_EXAMPLE"), b"hello from the environment"
)
show("getenv(b'FERROTYPE_UNSET')", libc.getenv(b"FERROTYPE_UNSET"), None)

print("libc_strings: all results correct")
