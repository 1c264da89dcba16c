"""Expected errors taken from the running interpreter's own ctypes.

ctypes' messages change between versions (3.12 lets a simple type's ``from_param`` raise
the conversion's error instead of "wrong type", 3.13 names the argument's type for
``c_char_p``, 3.14 rewrites the ``c_char``/``c_wchar`` messages...). A test that pins one
version's wording fails on the others; these helpers run the same action on the stdlib
first and expect exactly its exception type and message.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from types import ModuleType

import pytest


def stdlib_error(action: Callable[[ModuleType], object]) -> tuple[type[BaseException], str]:
    """The exception type and message stdlib ``ctypes`` raises for ``action(ctypes)``."""
    try:
        action(ctypes)
    except Exception as exc:
        return type(exc), str(exc)
    raise AssertionError("stdlib ctypes raised nothing")


def raises_like_stdlib(ct: ModuleType, action: Callable[[ModuleType], object]) -> BaseException:
    """Run ``action(ct)`` and check it raises what ``action(ctypes)`` raises, message and all.

    ``ArgumentError`` is ``ct``'s own, and a message that names a ctypes class by its
    module (``not ctypes.c_int``, ``'_ctypes.CArgObject'``) is compared with the module of
    ``ct``'s class in its place.
    Returns the exception, for further checks.
    """
    exc, message = stdlib_error(action)
    if exc is ctypes.ArgumentError:
        exc = ct.ArgumentError
    if ct is not ctypes:
        message = message.replace("not ctypes.", f"not {ct.__name__}.")
        message = message.replace("of ctypes.", f"of {ct.__name__}.")
        carg = type(ct.byref(ct.c_int()))
        message = message.replace("_ctypes.CArgObject", f"{carg.__module__}.CArgObject")
    with pytest.raises(exc) as info:
        action(ct)
    assert type(info.value) is exc
    assert str(info.value) == message
    return info.value
