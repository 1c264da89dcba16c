"""``find_library`` with the results of ``ctypes.util.find_library`` on Linux, but fast."""

import sys

__all__ = ["find_library"]

if sys.version_info >= (3, 14):
    from ._native import dllist as dllist

def find_library(name: str) -> str | None:
    """The soname of library ``name`` (``"m"`` gives ``"libm.so.6"``), or None."""

def test() -> None:
    """Print a few lookups, as ``python -m ctypes.util`` does."""
