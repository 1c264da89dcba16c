"""``ferrotype.install()``: ferrotype as the process's ``ctypes``.

After ``install()``, ``import ctypes``, ``import _ctypes`` and ``ctypes``' submodules
(``ctypes.util``, ``ctypes.wintypes``, ``ctypes._endian``, ``ctypes.macholib`` and its
modules) give ferrotype's modules, for the rest of the process: the modules are entered
in ``sys.modules`` under the stdlib's names, and a finder at the front of
``sys.meta_path`` maps those names to ferrotype's whenever they are imported again (a
submodule imported later, an entry someone removed). A submodule of ``ctypes`` that
ferrotype has no counterpart for (``ctypes.test`` on 3.11, ``ctypes._aix``) is the
stdlib's file, run on top of ferrotype.

The modules keep their own identity: ``ctypes.__name__`` is ``"ferrotype"`` and its
``__spec__`` is ferrotype's, so ``importlib.reload(ctypes)`` reloads ferrotype and
pickles of ferrotype's classes load with or without ``install()``.

Code that imported the stdlib's ctypes before ``install()`` keeps it: a module holds the
module or its classes, and nothing can swap them. ``install()`` warns then, naming the
modules that hold a reference to the stdlib's ctypes.
"""

import importlib
import importlib.machinery
import sys
import types
import warnings

# The stdlib's modules and their ferrotype counterparts.
_ALIASES = {
    "ctypes": "ferrotype",
    "_ctypes": "ferrotype._ctypes",
    "ctypes.util": "ferrotype.util",
    "ctypes.wintypes": "ferrotype.wintypes",
    "ctypes._endian": "ferrotype._endian",
    "ctypes.macholib": "ferrotype.macholib",
    "ctypes.macholib.dyld": "ferrotype.macholib.dyld",
    "ctypes.macholib.dylib": "ferrotype.macholib.dylib",
    "ctypes.macholib.framework": "ferrotype.macholib.framework",
}

# How many of the modules holding the stdlib's ctypes the warning names.
_NAMED_HOLDERS = 8


class _AliasLoader:
    """Loads a stdlib name as the ferrotype module already imported."""

    def __init__(self, module):
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec):
        return self._module

    def exec_module(self, module):
        # importlib gave the module the alias's spec; it keeps its own, so that
        # `importlib.reload` and `__spec__.name` still name the ferrotype module.
        module.__spec__ = self._spec


class _CtypesFinder:
    """The meta-path finder that maps the stdlib's ctypes module names to ferrotype's."""

    def __init__(self, stdlib_dirs):
        # Where the stdlib's ctypes package lives, for its submodules ferrotype lacks.
        self._stdlib_dirs = stdlib_dirs

    def find_spec(self, fullname, path=None, target=None):
        ours = _ALIASES.get(fullname)
        if ours is not None:
            module = importlib.import_module(ours)
            return importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(module), is_package=hasattr(module, "__path__")
            )
        parent, _, child = fullname.rpartition(".")
        if parent == "ctypes" and self._stdlib_dirs:
            return importlib.machinery.PathFinder.find_spec(fullname, self._stdlib_dirs)
        return None

    def invalidate_caches(self):
        pass


def _is_ctypes_name(name):
    return name in ("ctypes", "_ctypes") or name.startswith("ctypes.")


def _stdlib_modules():
    """The stdlib's ctypes modules imported so far, by name."""
    return {
        name: module
        for name, module in list(sys.modules.items())
        if _is_ctypes_name(name)
        and module is not None
        and not getattr(module, "__name__", "").startswith("ferrotype")
    }


def _holders(stdlib):
    """Names of the other imported modules whose globals hold one of the stdlib's ctypes
    modules, or a class or function defined by them."""
    modules = {id(module) for module in stdlib.values()}
    names = set(stdlib)
    found = []
    for name, module in list(sys.modules.items()):
        if name in names or _is_ctypes_name(name):
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for value in list(namespace.values()):
            if id(value) in modules or (
                isinstance(value, _DEFINED) and getattr(value, "__module__", None) in names
            ):
                found.append(name)
                break
    return found


# What a module imports from ctypes by name (`from ctypes import c_int, sizeof`).
_DEFINED: tuple[type, ...] = (type, types.FunctionType, types.BuiltinFunctionType)


def _stdlib_dirs(stdlib):
    """The directories of the stdlib's ctypes package (found without importing it)."""
    module = stdlib.get("ctypes")
    if module is not None:
        return list(getattr(module, "__path__", []))
    spec = importlib.machinery.PathFinder.find_spec("ctypes")
    if spec is None or not spec.submodule_search_locations:
        return []
    return list(spec.submodule_search_locations)


def _warn_imported_before(stdlib):
    holders = _holders(stdlib)
    if not holders:
        who = "by modules that hold no reference to it now"
    else:
        who = "by " + ", ".join(holders[:_NAMED_HOLDERS])
        if len(holders) > _NAMED_HOLDERS:
            who += f" and {len(holders) - _NAMED_HOLDERS} more"
    warnings.warn(
        f"ferrotype.install(): the standard library's ctypes was imported before ({who}); "
        "those modules keep using it, and only code that imports ctypes from now on gets "
        "ferrotype. Call ferrotype.install() before importing them, or run the program "
        "with `python -m ferrotype`.",
        RuntimeWarning,
        stacklevel=3,
    )


def install() -> None:
    """Make ``import ctypes`` (and ``_ctypes``, ``ctypes.util``, ``ctypes.wintypes``,
    ``ctypes._endian``, ``ctypes.macholib``) give ferrotype, for the rest of the process.

    Call it before importing the libraries it should affect: a module that imported the
    stdlib's ctypes already keeps it (``install()`` then warns with ``RuntimeWarning``,
    naming them). Calling it again does nothing more. ``python -m ferrotype script.py``
    and ``python -m ferrotype -m module`` run a program with it installed.
    """
    stdlib = _stdlib_modules()
    finder = next((f for f in sys.meta_path if isinstance(f, _CtypesFinder)), None)
    if finder is None:
        finder = _CtypesFinder(_stdlib_dirs(stdlib))
        sys.meta_path.insert(0, finder)
    # (Stdlib submodules ferrotype has no counterpart for are left in place below, so
    # they count only when one it replaces is there too: a second call says nothing.)
    if any(name in _ALIASES for name in stdlib):
        _warn_imported_before(stdlib)
        if "ctypes" in stdlib and "ctypes._layout" not in sys.modules:
            # The stdlib's `_ctypes` (3.14+) imports `ctypes._layout` to lay out each of
            # its structures; that module must bind the stdlib's ctypes, which the
            # modules warned about above still use.
            if importlib.machinery.PathFinder.find_spec("ctypes._layout", finder._stdlib_dirs):
                importlib.import_module("ctypes._layout")
    # Enter the modules already imported (and always ctypes and _ctypes); the finder
    # brings in the others when they are first imported. Stdlib modules ferrotype has
    # no counterpart for stay, for the code that still uses the stdlib.
    for name, ours in _ALIASES.items():
        if name in ("ctypes", "_ctypes") or name in stdlib or ours in sys.modules:
            sys.modules[name] = importlib.import_module(ours)
