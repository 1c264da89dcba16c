"""How dyld, macOS's dynamic loader, finds a library or framework (``ctypes.macholib.dyld``).

The search follows ``man dyld``: the ``DYLD_FRAMEWORK_PATH`` and ``DYLD_LIBRARY_PATH``
overrides, ``@executable_path/``, the name itself, then the fallback paths (from the
environment, or the defaults below when it sets none), each candidate also tried with
``DYLD_IMAGE_SUFFIX`` inserted. A candidate is found if it is a file, or if the system's
shared cache holds it (where the platform can tell).
"""

import os
from itertools import *  # noqa: F403 (ctypes' module has itertools' names too)
from itertools import chain

from .dylib import dylib_info
from .framework import framework_info

try:
    # macOS only: the name exists in CPython's _ctypes there, never in ferrotype's.
    from .._ctypes import _dyld_shared_cache_contains_path  # type: ignore[attr-defined]
except ImportError:

    def _dyld_shared_cache_contains_path(*args):
        """No dyld shared cache on this platform."""
        raise NotImplementedError


__all__ = ["dyld_find", "framework_find", "framework_info", "dylib_info"]

# The defaults of `man dyld`, used when the environment gives no fallback path.
DEFAULT_FRAMEWORK_FALLBACK = [
    os.path.expanduser("~/Library/Frameworks"),
    "/Library/Frameworks",
    "/Network/Library/Frameworks",
    "/System/Library/Frameworks",
]

DEFAULT_LIBRARY_FALLBACK = [
    os.path.expanduser("~/lib"),
    "/usr/local/lib",
    "/lib",
    "/usr/lib",
]


def dyld_env(env, var):
    """The ':'-separated list in ``env[var]`` (``os.environ`` if ``env`` is None); [] if unset."""
    value = (os.environ if env is None else env).get(var)
    return [] if value is None else value.split(":")


def dyld_image_suffix(env=None):
    """``DYLD_IMAGE_SUFFIX``, or None."""
    return (os.environ if env is None else env).get("DYLD_IMAGE_SUFFIX")


def dyld_framework_path(env=None):
    return dyld_env(env, "DYLD_FRAMEWORK_PATH")


def dyld_library_path(env=None):
    return dyld_env(env, "DYLD_LIBRARY_PATH")


def dyld_fallback_framework_path(env=None):
    return dyld_env(env, "DYLD_FALLBACK_FRAMEWORK_PATH")


def dyld_fallback_library_path(env=None):
    return dyld_env(env, "DYLD_FALLBACK_LIBRARY_PATH")


def dyld_image_suffix_search(iterator, env=None):
    """The candidates of ``iterator``, each preceded by its ``DYLD_IMAGE_SUFFIX`` variant
    (inserted before ``.dylib``, else appended); ``iterator`` itself when unset."""
    suffix = dyld_image_suffix(env)
    if suffix is None:
        return iterator

    def with_suffix(paths=iterator, suffix=suffix):
        for path in paths:
            stem, dot_dylib = (path[:-6], ".dylib") if path.endswith(".dylib") else (path, "")
            yield stem + suffix + dot_dylib
            yield path

    return with_suffix()


def dyld_override_search(name, env=None):
    """The override candidates: the framework in each ``DYLD_FRAMEWORK_PATH`` directory
    (if ``name`` is a framework binary), then ``name``'s file name in each
    ``DYLD_LIBRARY_PATH`` directory."""
    framework = framework_info(name)
    if framework is not None:
        for directory in dyld_framework_path(env):
            yield os.path.join(directory, framework["name"])
    for directory in dyld_library_path(env):
        yield os.path.join(directory, os.path.basename(name))


def dyld_executable_path_search(name, executable_path=None):
    """``@executable_path/rest`` as ``rest`` under ``executable_path``, if one is given."""
    prefix = "@executable_path/"
    if executable_path is not None and name.startswith(prefix):
        yield os.path.join(executable_path, name[len(prefix) :])


def dyld_default_search(name, env=None):
    """``name`` itself, then the fallback directories: those the environment names, else
    the defaults (frameworks only for a framework binary)."""
    yield name
    framework = framework_info(name)
    framework_dirs = dyld_fallback_framework_path(env)
    if framework is not None:
        for directory in framework_dirs:
            yield os.path.join(directory, framework["name"])
    library_dirs = dyld_fallback_library_path(env)
    for directory in library_dirs:
        yield os.path.join(directory, os.path.basename(name))
    if framework is not None and not framework_dirs:
        for directory in DEFAULT_FRAMEWORK_FALLBACK:
            yield os.path.join(directory, framework["name"])
    if not library_dirs:
        for directory in DEFAULT_LIBRARY_FALLBACK:
            yield os.path.join(directory, os.path.basename(name))


def dyld_find(name, executable_path=None, env=None):
    """The first candidate dyld would load for ``name``; ValueError if none exists."""
    candidates = chain(
        dyld_override_search(name, env),
        dyld_executable_path_search(name, executable_path),
        dyld_default_search(name, env),
    )
    for path in dyld_image_suffix_search(candidates, env):
        if os.path.isfile(path):
            return path
        try:
            if _dyld_shared_cache_contains_path(path):
                return path
        except NotImplementedError:
            pass
    raise ValueError(f"dylib {name} could not be found")


def framework_find(fn, executable_path=None, env=None):
    """Finds a framework from a loose name (``Python``, ``Python.framework``,
    ``Python.framework/Versions/Current``): as a path first, then as the binary inside
    the framework directory it names. The error is the first search's."""
    try:
        return dyld_find(fn, executable_path=executable_path, env=env)
    except ValueError as first:
        error = first
    end = fn.rfind(".framework")
    if end == -1:
        end = len(fn)
        fn += ".framework"
    binary = os.path.join(fn, os.path.basename(fn[:end]))
    try:
        return dyld_find(binary, executable_path=executable_path, env=env)
    except ValueError:
        raise error  # noqa: B904 (as in ctypes: the second error is its context)
    finally:
        error = None  # the traceback refers to this frame: no cycle through `error`
