"""The parts of a framework path (``ctypes.macholib.framework``)."""

import re

__all__ = ["framework_info"]

# A framework binary is `Short.framework/[Versions/Version/]Short[_Suffix]`: the binary
# has the framework's own short name. As for dylibs, the location is the longest
# prefix ending in '/' that leaves such a name.
STRICT_FRAMEWORK_RE = re.compile(
    r"(?P<location>^.*)(?:^|/)"
    r"(?P<name>"
    r"(?P<shortname>\w+)\.framework/"
    r"(?:Versions/(?P<version>[^/]+)/)?"
    r"(?P=shortname)"
    r"(?:_(?P<suffix>[^_]+))?"
    r")$"
)


def framework_info(filename):
    """The parts of a framework binary's path, or None if ``filename`` is not one.

    The four forms are ``Location/Name.framework/Versions/SomeVersion/Name_Suffix``,
    ``Location/Name.framework/Versions/SomeVersion/Name``,
    ``Location/Name.framework/Name_Suffix`` and ``Location/Name.framework/Name``; the
    result is a dict with the keys ``location``, ``name`` (from ``Name.framework`` on),
    ``shortname``, ``version`` and ``suffix`` (None when absent).
    """
    match = STRICT_FRAMEWORK_RE.match(filename)
    return None if match is None else match.groupdict()
