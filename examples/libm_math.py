"""Call libm with ferrotype: doubles in and out, and an int out-parameter via byref.

Run: .venv/bin/python examples/libm_math.py
"""

import math
import sys

import ferrotype as ctypes
from ferrotype.util import find_library


def show(what, got, expected):
    print(f"{what:<24} -> {got!r}")
    if got != expected:
        sys.exit(f"MISMATCH: {what}: expected {expected!r}, got {got!r}")


libm = ctypes.CDLL(find_library("m"))

# Without restype, ctypes assumes the result is a C int: declare doubles explicitly.
for name, nargs in [("cos", 1), ("hypot", 2), ("pow", 2)]:
    func = getattr(libm, name)
    func.argtypes = [ctypes.c_double] * nargs
    func.restype = ctypes.c_double

show("cos(0.0)", libm.cos(0.0), 1.0)
show("cos(1.0)", libm.cos(1.0), math.cos(1.0))
show("hypot(3.0, 4.0)", libm.hypot(3.0, 4.0), 5.0)
show("pow(2.0, 10.0)", libm.pow(2.0, 10.0), 1024.0)
show("pow(2, 0.5)", libm.pow(2, 0.5), math.sqrt(2))  # the int 2 is converted to 2.0

# double frexp(double x, int *exp);  x = mantissa * 2**exp, exp is written through the pointer
libm.frexp.argtypes = [ctypes.c_double, ctypes.POINTER(ctypes.c_int)]
libm.frexp.restype = ctypes.c_double
exp = ctypes.c_int()
mantissa = libm.frexp(48.0, ctypes.byref(exp))
show("frexp(48.0, &exp)", (mantissa, exp.value), math.frexp(48.0))

# double ldexp(double x, int exp);  the inverse of frexp
libm.ldexp.argtypes = [ctypes.c_double, ctypes.c_int]
libm.ldexp.restype = ctypes.c_double
show("ldexp(0.75, 6)", libm.ldexp(mantissa, exp.value), 48.0)

print("libm_math: all results correct")
