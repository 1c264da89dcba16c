"""What differs between the CPython versions ferrotype supports, in one place.

On interpreter 3.X, ferrotype behaves as 3.X's ``ctypes``. Every name, default and
behaviour of the Python layer that depends on the version is one flag here, named for
the behaviour and documented with the version that brought it; the rest of the package
reads these flags and never tests ``sys.version_info`` itself. The extension's own table
is ``crates/ferrotype-py/src/capi/version.rs``.
"""

import sys as _sys

PYTHON = _sys.version_info[:2]

#: 3.12: ``c_time_t`` and ``SIZEOF_TIME_T``.
HAS_TIME_T = PYTHON >= (3, 12)

#: 3.13: a ctypes class gets its type information in its metaclass's ``__init__``, not
#: ``__new__``: a class made by ``__new__`` alone is abstract, and calling ``__init__``
#: again raises SystemError.
METACLASS_INIT_LAYS_OUT = PYTHON >= (3, 13)

#: 3.14: ``c_float_complex``, ``c_double_complex``, ``c_longdouble_complex``,
#: ``memoryview_at`` and ``dllist``.
HAS_COMPLEX_TYPES = PYTHON >= (3, 14)
HAS_MEMORYVIEW_AT = PYTHON >= (3, 14)
HAS_DLLIST = PYTHON >= (3, 14)

#: The complex types' ``_type_`` (float, double, long double): 3.14's ``F``, ``D``,
#: ``G``; 3.15 spells them ``Zf``, ``Zd``, ``Zg``.
COMPLEX_TYPE_CODES = ("Zf", "Zd", "Zg") if PYTHON >= (3, 15) else ("F", "D", "G")


def _check_build():
    from . import _native

    if tuple(_native._BUILT_FOR) != PYTHON:
        raise ImportError(
            f"ferrotype's extension was built for Python {_native._BUILT_FOR[0]}."
            f"{_native._BUILT_FOR[1]}, not {PYTHON[0]}.{PYTHON[1]}"
        )


_check_build()
