"""ferrotype.cdef: a namespace of ordinary ferrotype types from C declarations.

Everything about the C text (parsing, type resolution, constants, layouts, refusals) is
decided in the Rust core (``ferrotype_core::cdecl``) and arrives from
``_native.cdef_parse`` as plain data; this module only makes the classes and looks up
symbols.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import subprocess
import typing

from . import _native

_SIMPLE = {
    "?": "c_bool",
    "c": "c_char",
    "u": "c_wchar",
    "b": "c_byte",
    "B": "c_ubyte",
    "h": "c_short",
    "H": "c_ushort",
    "i": "c_int",
    "I": "c_uint",
    "l": "c_long",
    "L": "c_ulong",
    "q": "c_longlong",
    "Q": "c_ulonglong",
    "f": "c_float",
    "d": "c_double",
    "g": "c_longdouble",
    "e": "c_float16",
}


class Refusal(typing.NamedTuple):
    """A declaration :func:`cdef` could not represent: its name, why, and where it starts
    (line and column in the source given; ``file`` and ``file_line`` from line markers
    such as ``# 12 "zlib.h"``, else ``None`` and the line)."""

    name: str
    reason: str
    line: int
    column: int
    file: str | None
    file_line: int


class CDefError(SyntaxError):
    """The text given to :func:`cdef` is not C declarations: the message, ``lineno`` and
    ``offset`` name the line and column, ``filename`` the file from line markers."""


class CDefNamespace:
    """What :func:`cdef` returns: the declared names as attributes, plus
    ``__refused__`` (a list of :class:`Refusal`), ``__found__`` (how many
    declarations were read) and ``__params__`` (each bound function's parameter names as
    declared, ``""`` for an unnamed one; :func:`ferrotype.stubgen` uses them)."""

    __refused__: list[Refusal]
    __found__: int
    __params__: dict[str, list[str]]

    def __repr__(self) -> str:
        names = [n for n in vars(self) if not n.startswith("__")]
        return f"<cdef namespace: {len(names)} names, {len(self.__refused__)} refused>"


def cdef(source: str, lib: typing.Any = None) -> CDefNamespace:
    """Parse C declarations and return a :class:`CDefNamespace` of ordinary ferrotype
    types: structs and unions (anonymous members, bit-fields), enums and their constants,
    typedefs, arrays, pointers, function pointer types (``CFUNCTYPE``) and ``#define``
    constants (``int``, ``float`` or ``bytes``). With ``lib`` (a ``CDLL`` or a name to
    load), functions come with ``argtypes``/``restype`` set (``variadic`` for ``...``)
    and variables through ``in_dll``. What cannot be represented is listed in
    ``__refused__`` and the rest still binds; a syntax error raises :class:`CDefError`.
    See the "Binding from C declarations" page."""
    return _build(source, lib, recover=False)


def include(
    header: str | os.PathLike[str],
    lib: typing.Any = None,
    *,
    cflags: typing.Iterable[str] = (),
    defines: typing.Mapping[str, object] | None = None,
) -> CDefNamespace:
    """Bind a C header: run the C preprocessor (``$CC`` or ``cc``, ``-E -dD``) on
    ``#include <header>`` (or the file ``header`` when it exists), then :func:`cdef` on the
    result, keeping the declarations and ``#define`` constants of that header (the types
    they use from other headers still work, but are not names of the namespace). A
    declaration that does not parse is refused, with its line in the header, instead of
    failing the whole header. ``defines`` become ``-D`` options (a value of ``None``: just
    ``-DNAME``), ``cflags`` are passed as they are. Results are cached on disk
    (``$FERROTYPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/ferrotype`` or ``~/.cache/ferrotype``),
    keyed by the preprocessed text and the compiler, so a second include is fast.

    :raises CCompilerError: no compiler, or it failed (a missing header: its message).
    """
    from ._inspect_check import CCompilerError

    cc = shutil.which(os.environ.get("CC", "cc"))
    name = os.fspath(header)
    line = (
        f'#include "{os.path.abspath(name)}"\n' if os.path.isfile(name) else f"#include <{name}>\n"
    )
    flags = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in (defines or {}).items()]
    cmd = [cc or "cc", "-E", "-dD", *flags, *cflags, "-x", "c", "-"]
    if cc is None:
        raise CCompilerError("no C compiler: set $CC or install cc", cmd, "", line)
    proc = subprocess.run(cmd, input=line, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CCompilerError(
            f"the C preprocessor failed: {proc.stderr.strip()}", cmd, proc.stderr, line
        )
    text = proc.stdout
    keep = _kept_files(text, not os.path.isfile(name) and "/" in name)
    key = hashlib.sha256(
        "\0".join([_compiler_id(cc), _native.PACKAGE_VERSION, _CACHE_FORMAT, *keep, text]).encode()
    ).hexdigest()
    unit = _cache_load(key)
    if unit is None:
        unit = _parse(text, True, keep)
        _cache_store(key, unit)
    return _make(unit, lib)


# Changes when the shape of the cached unit does (the parameter names of functions: 2;
# records' packing and alignment: 3; attributes between `struct` and the tag: 4;
# `#pragma pack`: 5).
_CACHE_FORMAT = "5"

_MARKER = re.compile(r'^# \d+ "(.*)"((?: \d)*)$', re.M)


def _kept_files(text: str, named_with_dir: bool) -> list[str]:
    """The files whose declarations ``include`` keeps, from the line markers: the header
    ``<stdin>`` included and the files of its directory that it includes itself
    (``zconf.h`` for ``zlib.h``); with a header named with a directory (``SDL2/SDL.h``),
    every file of that directory it includes; and the ``bits/``, ``sys/`` and ``types/``
    headers that a kept header includes (where the C library puts what its headers
    declare)."""
    stack: list[str] = []
    kept: list[str] = []
    top = None
    for m in _MARKER.finditer(text):
        file, flags = m.group(1), m.group(2).split()
        if "1" in flags:
            parent = stack[-1] if stack else ""
            if top is None and parent == "<stdin>":
                top = file
                kept.append(file)
            elif top is not None and file not in kept:
                same_dir = os.path.dirname(file) == os.path.dirname(top) and (
                    named_with_dir or parent == top
                )
                where = os.path.basename(os.path.dirname(file))
                libc = parent in kept and where in ("bits", "sys", "types")
                if same_dir or libc:
                    kept.append(file)
            stack.append(file)
        elif "2" in flags:
            if stack:
                stack.pop()
            if stack:
                stack[-1] = file
        elif stack:
            stack[-1] = file
        else:
            stack.append(file)
    return kept or ["<stdin>"]


_COMPILERS: dict[str, str] = {}


def _compiler_id(cc: str) -> str:
    if cc not in _COMPILERS:
        r = subprocess.run([cc, "--version"], capture_output=True, text=True)
        _COMPILERS[cc] = cc + "\0" + r.stdout
    return _COMPILERS[cc]


def _cache_dir() -> str:
    d = os.environ.get("FERROTYPE_CACHE_DIR")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "ferrotype")
    return os.path.join(d, "include")


def _cache_load(key: str) -> dict | None:
    try:
        with open(os.path.join(_cache_dir(), key + ".pickle"), "rb") as f:
            unit = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return None
    return unit if isinstance(unit, dict) else None


def _cache_store(key: str, unit: dict) -> None:
    d = _cache_dir()
    try:
        os.makedirs(d, exist_ok=True)
        tmp = os.path.join(d, f".{key}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(unit, f)
        os.replace(tmp, os.path.join(d, key + ".pickle"))
    except OSError:
        pass  # a cache that cannot be written is only slower


def _parse(source: str, recover: bool, keep: list[str] | None = None) -> dict:
    try:
        return _native.cdef_parse(source, recover, keep)
    except SyntaxError as e:
        message, (line, column, file, _file_line) = e.args
        err = CDefError(message)
        err.lineno, err.offset, err.filename = line, column, file or "<cdef>"
        raise err from None


def _build(source: str, lib: typing.Any, recover: bool) -> CDefNamespace:
    return _make(_parse(source, recover), lib)


def _make(unit: dict, lib: typing.Any) -> CDefNamespace:
    import ferrotype as ft

    if isinstance(lib, (str, bytes)) or hasattr(lib, "__fspath__"):
        lib = ft.CDLL(lib)
    ns = CDefNamespace()
    refused = [Refusal(n, r, *p) for n, r, p in unit["refused"]]
    records = []
    for name, _tag, is_union, *_rest in unit["records"]:
        records.append(type(name, (ft.Union if is_union else ft.Structure,), {}))
    funcs: dict = {}

    def make(t):
        kind = t[0]
        if kind == "v":
            return None
        if kind == "s":
            return getattr(ft, _SIMPLE[t[1]])
        if kind == "r":
            return records[t[1]]
        if kind == "a":
            return make(t[1]) * t[2]
        if kind == "f":
            key = repr(t)
            if key not in funcs:
                funcs[key] = ft.CFUNCTYPE(make(t[1]), *[make(a) for a in t[2]])
            return funcs[key]
        inner = t[1]  # a pointer
        if inner[0] == "v":
            return ft.c_void_p
        if inner[0] == "s" and inner[1] in ("c", "u"):
            return ft.c_char_p if inner[1] == "c" else ft.c_wchar_p
        if inner[0] == "f":
            return make(inner)
        return ft.POINTER(make(inner))

    for i in unit["order"]:
        cls = records[i]
        _name, _tag, _u, _c, fields, anonymous, _size, _align, _hidden, (pack, align) = unit[
            "records"
        ][i]
        if pack is not None:
            # GCC's packing of a struct without bit-fields is MSVC's: ctypes' _pack_ with
            # _layout_ = "ms" (which 3.14 wants stated with _pack_).
            cls._layout_ = "ms"
            cls._pack_ = pack
        if align:
            cls._align_ = align
        if anonymous:
            cls._anonymous_ = tuple(anonymous)
        cls._fields_ = [
            (n, make(t)) if bits is None else (n, make(t), bits) for n, t, bits in fields
        ]
    taken: set[str] = set()

    def put(name, value):
        taken.add(name)
        setattr(ns, name, value)

    for name, value in unit["constants"]:
        put(name, value)
    for name, t in unit["typedefs"]:
        put(name, make(t))
    for name, code in unit["enums"]:
        put("enum_" + name, getattr(ft, _SIMPLE[code]))
    for cls, (_name, tag, is_union, *_rest, hidden, _attrs) in zip(
        records, unit["records"], strict=True
    ):
        if tag is not None and not hidden:
            put(("union_" if is_union else "struct_") + tag, cls)
    for cls, (_name, tag, *_rest, hidden, _attrs) in zip(records, unit["records"], strict=True):
        if tag is not None and tag not in taken and not hidden:
            put(tag, cls)
    params: dict[str, list[str]] = {}
    if lib is not None:
        for name, symbol, t, names in unit["functions"]:
            try:
                f = lib[symbol]
            except AttributeError:
                reason = f"symbol {symbol} not found in {lib._name}"
                refused.append(Refusal(name, reason, 0, 0, None, 0))
                continue
            _, ret, args, variadic, unspecified = t
            f.restype = make(ret)
            if not unspecified:
                f.argtypes = [make(a) for a in args]
            if variadic:
                f.variadic = True
            put(name, f)
            params[name] = list(names)
        for name, symbol, t in unit["globals"]:
            try:
                put(name, make(t).in_dll(lib, symbol))
            except (ValueError, AttributeError, TypeError) as e:
                refused.append(Refusal(name, f"cannot bind variable: {e}", 0, 0, None, 0))
    ns.__refused__ = refused
    ns.__found__ = unit["found"]
    ns.__params__ = params
    return ns
