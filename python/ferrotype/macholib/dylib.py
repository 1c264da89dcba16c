"""The parts of a dylib path (``ctypes.macholib.dylib``)."""

import re

__all__ = ["dylib_info"]

# A dylib file name is `Short[.Version][_Suffix].dylib`. The location is the longest
# prefix, ending in '/', that leaves such a name (empty when the name starts the
# string); the short name is the shortest run of word characters that lets the rest
# match.
DYLIB_RE = re.compile(
    r"(?P<location>^.*)(?:^|/)"
    r"(?P<name>"
    r"(?P<shortname>\w+?)"
    r"(?:\.(?P<version>[^._]+))?"
    r"(?:_(?P<suffix>[^._]+))?"
    r"\.dylib$)"
)


def dylib_info(filename):
    """The parts of a dylib path, or None if ``filename`` is not one.

    The four forms are ``Location/Name.SomeVersion_Suffix.dylib``,
    ``Location/Name.SomeVersion.dylib``, ``Location/Name_Suffix.dylib`` and
    ``Location/Name.dylib``; the result is a dict with the keys ``location``, ``name``
    (the file name), ``shortname`` (``Name``), ``version`` and ``suffix`` (None when
    absent).
    """
    match = DYLIB_RE.match(filename)
    return None if match is None else match.groupdict()
