"""ferrotype.cdef: a namespace of ordinary ferrotype types from C declarations.

Everything about the C text (parsing, type resolution, constants, layouts, refusals) is
decided in the Rust core (``ferrotype_core::cdecl``) and arrives from
``_native.cdef_parse`` as plain data; this module only makes the classes and looks up
symbols.
"""

from __future__ import annotations

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
    ``__refused__`` (a list of :class:`Refusal`) and ``__found__`` (how many
    declarations were read)."""

    __refused__: list[Refusal]
    __found__: int

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


def _build(source: str, lib: typing.Any, recover: bool) -> CDefNamespace:
    import ferrotype as ft

    try:
        unit = _native.cdef_parse(source, recover)
    except SyntaxError as e:
        message, (line, column, file, file_line) = e.args
        err = CDefError(message)
        err.lineno, err.offset, err.filename = line, column, file or "<cdef>"
        raise err from None
    if isinstance(lib, (str, bytes)) or hasattr(lib, "__fspath__"):
        lib = ft.CDLL(lib)
    ns = CDefNamespace()
    refused = [Refusal(n, r, *p) for n, r, p in unit["refused"]]
    records = []
    for name, _tag, is_union, _complete, _fields, _anon, _size, _align in unit["records"]:
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
        _name, _tag, _u, _c, fields, anonymous, _size, _align = unit["records"][i]
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
    for cls, (_name, tag, is_union, *_rest) in zip(records, unit["records"], strict=True):
        if tag is not None:
            put(("union_" if is_union else "struct_") + tag, cls)
    for cls, (_name, tag, *_rest) in zip(records, unit["records"], strict=True):
        if tag is not None and tag not in taken:
            put(tag, cls)
    if lib is not None:
        for name, symbol, t in unit["functions"]:
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
        for name, symbol, t in unit["globals"]:
            try:
                put(name, make(t).in_dll(lib, symbol))
            except (ValueError, AttributeError, TypeError) as e:
                refused.append(Refusal(name, f"cannot bind variable: {e}", 0, 0, None, 0))
    ns.__refused__ = refused
    ns.__found__ = unit["found"]
    return ns
