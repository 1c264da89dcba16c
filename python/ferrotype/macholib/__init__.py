"""Mach-O library path logic (``ctypes.macholib``): how macOS's dynamic loader, dyld,
finds a library or framework by name. Pure path manipulation, importable everywhere;
``ctypes.util.find_library`` uses it on macOS only.
"""

__version__ = "1.0"
