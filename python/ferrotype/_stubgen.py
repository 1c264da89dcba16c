"""ferrotype.stubgen: a ``.pyi`` for a namespace of :func:`ferrotype.cdef` or
:func:`ferrotype.include`, so that editors and type checkers know the bound functions,
structures and constants.

The stub describes a module whose names are the namespace's: functions with their
parameters (named as in C, positional-only) and results, structures and unions as classes
with typed fields, function pointer types as classes, typedefs as type aliases, enum and
``#define`` constants, variables. It is made from the namespace's objects (their
``_fields_``, ``argtypes``, ``restype``), so it says what the bound objects accept and
give: an ``int`` or a ``c_int`` for an ``int`` parameter, ``bytes | None`` from a
``char *`` result, and so on.
"""

from __future__ import annotations

import keyword
import typing

from . import _ctypes as _c

_HEADER = '''\
"""Type stub of {what}, made by ferrotype.stubgen."""

# pyright: reportPrivateUsage=false, reportAny=false

import typing as _t

import ferrotype as _ft
import ferrotype._ctypes as _ftc

_T = _t.TypeVar("_T", bound=_ftc._CData)
# What a parameter of type POINTER(T) accepts.
_PointerArg: _t.TypeAlias = _ft._Pointer[_T] | _ft.Array[_T] | _T | _ftc._CArgObject | None
# What a char * (c_char_p) parameter accepts.
_CharPArg: _t.TypeAlias = (
    bytes | int | None | _ft.c_char_p | _ft.Array[_ft.c_char] | _ft._Pointer[_ft.c_char]
    | _ftc._CArgObject
)
# What a wchar_t * (c_wchar_p) parameter accepts.
_WCharPArg: _t.TypeAlias = (
    str | int | None | _ft.c_wchar_p | _ft.Array[_ft.c_wchar] | _ft._Pointer[_ft.c_wchar]
    | _ftc._CArgObject
)
# What a void * (c_void_p) parameter accepts.
_VoidPArg: _t.TypeAlias = int | bytes | str | None | _ftc._CData | _ftc._CArgObject

'''

# What reading a simple type gives, by its _type_ code.
_READ = {
    "?": "bool",
    "c": "bytes",
    "u": "str",
    "z": "bytes | None",
    "Z": "str | None",
    "P": "int | None",
    "O": "_t.Any",
    "f": "float",
    "d": "float",
    "g": "float",
    "e": "float",
}


def _sub(t: typing.Any, base: typing.Any) -> bool:
    """``t`` is a class derived from ``base`` (without narrowing ``t`` for the checker:
    ctypes classes carry their ``_type_``, ``_fields_``... as class attributes)."""
    return isinstance(t, type) and issubclass(t, base)


class _Writer:
    def __init__(self, ns: typing.Any) -> None:
        self.ns = ns
        self.names: dict[int, str] = {}  # id(class) -> its name in the stub
        self.defined: list[type] = []  # records and function types to write as classes
        self.hidden: set[int] = set()  # classes that are not names of the namespace
        self.taken = {n for n in vars(ns) if not n.startswith("__")}

    # ---- names of classes ------------------------------------------------------------------

    def _is_class(self, t: typing.Any) -> bool:
        return _sub(t, (_c.Structure, _c.Union, _c.CFuncPtr))

    def claim(self, name: str, t: typing.Any) -> bool:
        """Name ``t`` (a record or function type) ``name`` if it has no name yet."""
        if not self._is_class(t) or id(t) in self.names:
            return False
        self.names[id(t)] = name
        self.defined.append(t)
        return True

    def name_of(self, t: type) -> str:
        """The stub's name for record or function type ``t``, giving one to a class
        that is not a name of the namespace (``_name``, type-check only)."""
        if id(t) not in self.names:
            own = t.__name__ if t.__name__.isidentifier() else "fn"
            base = "_" + own.lstrip("_")
            if base in ("_CFunctionType", "_"):
                base = "_fn"
            name, k = base, 0
            while name in self.taken:
                k += 1
                name = f"{base}{k}"
            self.taken.add(name)
            self.names[id(t)] = name
            self.defined.append(t)
            self.hidden.add(id(t))
        return self.names[id(t)]

    # ---- annotations -----------------------------------------------------------------------

    def ctype(self, t: typing.Any) -> str:
        """``t`` itself, as a type expression."""
        if t is None:
            return "None"
        if self._is_class(t):
            return self.name_of(t)
        if _sub(t, _c._Pointer):
            return f"_ft._Pointer[{self.ctype(t._type_)}]"
        if _sub(t, _c.Array):
            return f"_ft.Array[{self.ctype(t._type_)}]"
        if _sub(t, _c._SimpleCData):
            import ferrotype

            name: str = t.__name__
            if getattr(ferrotype, name, None) is t:
                return "_ft." + name
        return "_ftc._CData"

    def read(self, t: typing.Any) -> str:
        """What reading a field (or a result) of type ``t`` gives."""
        if t is None:
            return "None"
        if _sub(t, _c._SimpleCData) and t._type_ in _READ:
            return _READ[t._type_]
        if _sub(t, _c._SimpleCData):
            return "int"
        if _sub(t, _c.Array):
            code = getattr(t._type_, "_type_", None)
            if code == "c":
                return "bytes"
            if code == "u":
                return "str"
        return self.ctype(t)

    def accept(self, t: typing.Any) -> str:
        """What a parameter of type ``t`` accepts."""
        own = self.ctype(t)
        if _sub(t, _c._SimpleCData):
            code = t._type_
            if code == "z":
                return "_CharPArg"
            if code == "Z":
                return "_WCharPArg"
            if code == "P":
                return "_VoidPArg"
            if code == "c":
                return f"bytes | int | {own}"
            if code == "u":
                return f"str | {own}"
            if code in "fdge":
                return f"float | {own}"
            if code == "?":
                return f"bool | int | {own}"
            if code == "O":
                return "_t.Any"
            return f"int | {own}"
        if _sub(t, _c._Pointer):
            return f"_PointerArg[{self.ctype(t._type_)}]"
        return own

    # ---- declarations ----------------------------------------------------------------------

    def function(self, name: str, f: typing.Any) -> list[str]:
        restype = f.restype
        argtypes = f.argtypes
        if argtypes is None:
            return [f"def {name}(*args: _t.Any) -> {self.read(restype)}: ..."]
        given = list(getattr(self.ns, "__params__", {}).get(name, []))
        params = []
        used: set[str] = set()
        for k, t in enumerate(argtypes):
            p = given[k] if k < len(given) else ""
            if not p.isidentifier() or keyword.iskeyword(p):
                p = f"{p}_" if p.isidentifier() else f"arg{k}"
            while p in used:
                p += "_"
            used.add(p)
            params.append(f"{p}: {self.accept(t)}")
        if params:
            params.append("/")
        if getattr(f, "variadic", False):
            params.append("*args: _t.Any")
        return [f"def {name}({', '.join(params)}) -> {self.read(restype)}: ..."]

    def record(self, cls: type) -> list[str]:
        name = self.names[id(cls)]
        base = "_ft.Union" if _sub(cls, _c.Union) else "_ft.Structure"
        lines = []
        if id(cls) in self.hidden:
            lines.append("@_t.type_check_only")
        lines.append(f"class {name}({base}):")
        body = []
        seen: set[str] = set()

        def fields(c: type) -> None:
            anonymous = set(getattr(c, "_anonymous_", ()))
            for spec in getattr(c, "_fields_", None) or ():
                fname, ftype = spec[0], spec[1]
                if fname in seen:
                    continue
                seen.add(fname)
                if not fname.isidentifier() or keyword.iskeyword(fname):
                    body.append(f"    # field {fname!r}: not a Python name")
                    continue
                if fname.startswith("__") and not fname.endswith("__"):
                    # In a class body the name would be mangled; reach it with getattr.
                    body.append(f"    # field {fname!r}: a private name in a class body")
                    continue
                body.append(f"    {fname}: {'int' if len(spec) > 2 else self.read(ftype)}")
                if fname in anonymous:
                    fields(ftype)

        fields(cls)
        if cls.__dict__.get("_fields_") is None:
            body.append("    # incomplete: declared without a body")
        if all(b.lstrip().startswith("#") for b in body):
            body.append("    ...")
        return lines + body

    def function_type(self, cls: typing.Any) -> list[str]:
        name = self.names[id(cls)]
        args = ", ".join(self.ctype(a) for a in cls._argtypes_)
        head = "@_t.type_check_only\n" if id(cls) in self.hidden else ""
        return [
            f"{head}class {name}(_ft._CFunctionType):",
            f"    # CFUNCTYPE({self.ctype(cls._restype_)}{', ' if args else ''}{args})",
            "    ...",
        ]

    def write(self, what: str) -> str:
        items = [(n, v) for n, v in vars(self.ns).items() if not n.startswith("__")]
        skipped = [n for n, _ in items if not n.isidentifier() or keyword.iskeyword(n)]
        items = [(n, v) for n, v in items if n not in skipped]
        # A record or function type is written as a class under its own name when the
        # namespace has it, else under its first name; other names are aliases.
        for n, v in items:
            if self._is_class(v) and getattr(v, "__name__", None) == n:
                self.claim(n, v)
        for n, v in items:
            self.claim(n, v)
        params = getattr(self.ns, "__params__", {})
        consts: list[str] = []
        aliases: list[str] = []
        funcs: list[str] = []
        variables: list[str] = []
        for n, v in items:
            if isinstance(v, bool) or isinstance(v, (int, float, bytes, str)):
                consts.append(f"{n}: {type(v).__name__}")
            elif _sub(v, _c._CData):
                if self.names.get(id(v)) != n:
                    aliases.append(f"{n}: _t.TypeAlias = {self.ctype(v)}")
            elif n in params and isinstance(v, _c.CFuncPtr):
                funcs.extend(self.function(n, v))
            elif isinstance(v, _c._CData):
                variables.append(f"{n}: {self.ctype(type(v))}")
            else:
                variables.append(f"{n}: _t.Any")
        # Writing functions and fields names the classes they use: do them first.
        sections = [funcs, variables]
        classes: list[list[str]] = []
        done = 0
        while done < len(self.defined):
            cls = self.defined[done]
            done += 1
            if _sub(cls, _c.CFuncPtr):
                classes.append(self.function_type(cls))
            else:
                classes.append(self.record(cls))
        out = [_HEADER.format(what=what)]
        if skipped:
            out.append("# Not Python names (reach them with getattr): " + ", ".join(skipped))
            out.append("")
        for cls_lines in classes:
            out.extend(cls_lines)
            out.append("")
        for block in (aliases, consts, *sections):
            if block:
                out.extend(block)
                out.append("")
        return "\n".join(out).rstrip("\n") + "\n"


def stubgen(namespace: typing.Any, what: str = "a C library bound by ferrotype") -> str:
    """The text of a ``.pyi`` stub for ``namespace`` (what :func:`cdef` or :func:`include`
    returns): its functions (parameters named as in C, positional-only; ``*args`` for a
    variadic one), structures and unions as classes with typed fields, function pointer
    types as classes, typedefs as type aliases, constants and variables. Save it as
    ``NAME.pyi`` beside a module ``NAME.py`` that puts the namespace's names in its globals
    (see the "Binding from C declarations" page), and type checkers know the library.
    ``what`` is the stub's docstring subject."""
    return _Writer(namespace).write(what)


def main(argv: list[str]) -> int:
    """``python -m ferrotype stubgen HEADER [-l LIB] [-o OUT] [-I DIR] [-D NAME[=VALUE]]
    [--cflags FLAGS]``: bind ``HEADER`` with :func:`include` and write its stub (to ``OUT``,
    else to standard output). ``-l`` names the library as the C compiler's ``-l`` does
    (``-l z``: found with ``ctypes.util.find_library``), or is a path."""
    import argparse
    import os
    import shlex
    import sys

    from . import util
    from ._cdef import include
    from ._inspect_check import CCompilerError

    parser = argparse.ArgumentParser(
        prog="python -m ferrotype stubgen",
        description="Write a .pyi stub for a C header bound with ferrotype.include().",
    )
    parser.add_argument("header", help="the header, as #include <...> names it, or a file")
    parser.add_argument("-l", dest="lib", help="the library (z, sqlite3, or a path)")
    parser.add_argument("-o", dest="out", help="the .pyi to write (default: standard output)")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=V]")
    parser.add_argument("--cflags", default="", help="more compiler options, one string")
    args = parser.parse_args(argv)
    lib = None
    if args.lib is not None:
        lib = args.lib if os.sep in args.lib else (util.find_library(args.lib) or args.lib)
    cflags = [f"-I{d}" for d in args.include_dirs]
    cflags += [f"-D{d}" for d in args.defines] + shlex.split(args.cflags)
    try:
        ns = include(args.header, lib, cflags=cflags)
    except (CCompilerError, OSError) as e:
        print(f"stubgen: {e}", file=sys.stderr)
        return 1
    text = stubgen(ns, args.header)
    if args.out is None:
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)
    names = sum(1 for n in vars(ns) if not n.startswith("__"))
    print(
        f"stubgen: {args.header}: {names} names, {len(ns.__refused__)} refused"
        + (f" -> {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 0
