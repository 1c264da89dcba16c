"""Objects from the standard library's ctypes, taken by ferrotype without ``install()``.

A program that uses ferrotype may still be handed objects made by the stdlib's ctypes
(NumPy's ``arr.ctypes`` without ``ferrotype.install()``, a library that imports
``ctypes`` itself). ferrotype takes them where it takes an instance of a *compatible*
ferrotype type:

- a stdlib type is mapped, by structure, to a ferrotype type (``ferrotype_type``): a
  simple type to the ferrotype type of the same ``_type_`` code and byte order, an array
  to an array of the mapped element type and the same length, a pointer to the pointer
  to the mapped target, a function pointer to one of the mapped signature and flags, a
  structure or union to a new ferrotype structure or union with the mapped fields and
  the same ``_pack_``/``_align_``/``_layout_``/``_anonymous_``, whose size and field
  offsets are checked against the stdlib's;
- two ferrotype types are compatible (``_compatible``) when they are the same kind with
  the same size and alignment, and: simple, the same code and byte order; arrays, the
  same length and compatible elements; pointers, compatible targets; structures and
  unions, the same fields (names, offsets, bit-field widths, compatible types); function
  pointers, the same flags and compatible result and argument types;
- an instance is taken by address: a view of the wanted ferrotype type (or, when that is
  not compatible, of the mapped type, so that the caller raises the error it raises for
  an incompatible ferrotype instance) over the stdlib object's memory, which it reaches
  through the buffer protocol (``from_buffer``: the size is checked there) and which the
  view keeps alive (in its ``_objects``).

The native code calls ``_adopt`` only on its slow paths, after the checks for
ferrotype's own objects have failed, so calls with ferrotype objects cost nothing more.
"""

import sys as _sys
import warnings as _warnings
import weakref as _weakref

from . import _native

_STDLIB_BASES = {
    "_SimpleCData": "simple",
    "Array": "array",
    "_Pointer": "pointer",
    "CFuncPtr": "funcptr",
    "Structure": "struct",
    "Union": "union",
}

_mapped: _weakref.WeakKeyDictionary[type, type] = _weakref.WeakKeyDictionary()
_compat_cache: _weakref.WeakKeyDictionary[type, _weakref.WeakKeyDictionary[type, bool]] = (
    _weakref.WeakKeyDictionary()
)


def _stdlib_kind(tp):
    """The kind of ``tp`` if it is a type of the standard library's ctypes, else None."""
    if not isinstance(tp, type):
        return None
    mro = tp.__mro__
    if _native._CData in mro:
        return None
    kind = None
    for base in mro:
        if base.__module__ != "_ctypes":
            continue
        name = base.__name__
        if name == "_CData":
            return kind
        if kind is None:
            kind = _STDLIB_BASES.get(name)
    return None


def _is_root(tp):
    """Whether ``tp`` is one of the stdlib's abstract bases (or endian variants)."""
    return tp.__module__ == "_ctypes" or (
        tp.__module__ == "ctypes._endian" and "Endian" in tp.__name__
    )


def _ft():
    import ferrotype

    return ferrotype


_SIMPLE_NAMES = (
    "c_byte c_ubyte c_short c_ushort c_int c_uint c_long c_ulong c_longlong c_ulonglong "
    "c_float c_double c_longdouble c_char c_wchar c_char_p c_wchar_p c_void_p c_bool "
    "py_object c_float_complex c_double_complex c_longdouble_complex"
).split()
_simple_by_code: dict[str, type] = {}


def _simple_for(code):
    if not _simple_by_code:
        ft = _ft()
        for name in _SIMPLE_NAMES:
            cls = getattr(ft, name, None)
            if cls is not None:
                _simple_by_code.setdefault(cls._type_, cls)
    try:
        return _simple_by_code[code]
    except KeyError:
        raise TypeError(
            f"ferrotype has no simple type with code {code!r} of the standard library's ctypes"
        ) from None


def _format_of(tp):
    """The buffer format of a zeroed stdlib instance (its ``__init__`` not called)."""
    return memoryview(tp.__new__(tp)).format


def _map_simple(tp):
    base = tp.__bases__[0]
    if not _is_root(base) and _stdlib_kind(base) == "simple":
        parent = ferrotype_type(base)
        return type(parent)(
            tp.__name__, (parent,), {"__module__": tp.__module__, "__qualname__": tp.__qualname__}
        )
    cls = _simple_for(tp._type_)
    fmt = _format_of(tp)
    if fmt != cls._ft_info_.format:
        for other in (getattr(cls, "__ctype_be__", None), getattr(cls, "__ctype_le__", None)):
            if other is not None and other._ft_info_.format == fmt:
                return other
        raise TypeError(f"ferrotype has no simple type with the format {fmt!r} of {tp.__name__}")
    return cls


def _map_type(tp, what):
    m = ferrotype_type(tp) if isinstance(tp, type) else None
    if m is None:
        if isinstance(tp, type) and getattr(tp, "_ft_info_", None) is not None:
            return tp
        raise TypeError(f"{what} {tp!r} is not a type of the standard library's ctypes")
    return m


def _stdlib_fields(tp):
    """The fields of the stdlib structure ``tp``, base classes first."""
    out = []
    for klass in reversed(tp.__mro__):
        out.extend(klass.__dict__.get("_fields_", ()))
    return out


def _map_compound(tp, kind):
    ft = _ft()
    base = tp.__bases__[0]
    swapped = hasattr(tp, "_swappedbytes_")
    if _is_root(base):
        if swapped:
            other = "Big" if _sys.byteorder == "little" else "Little"
            root = getattr(ft, f"{other}Endian{'Union' if kind == 'union' else 'Structure'}")
        else:
            root = ft.Union if kind == "union" else ft.Structure
    else:
        root = ferrotype_type(base)
    ns = {"__module__": tp.__module__, "__qualname__": tp.__qualname__}
    for attr in ("_pack_", "_align_", "_layout_", "_anonymous_"):
        if attr in tp.__dict__:
            ns[attr] = tp.__dict__[attr]
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        m = type(root)(tp.__name__, (root,), ns)
        _mapped[tp] = m
        fields = tp.__dict__.get("_fields_")
        if fields is not None:
            m._fields_ = [(f[0], _map_type(f[1], "field type"), *f[2:]) for f in fields]
    # The layout must be the stdlib's: same size and the same field offsets and sizes.
    same = memoryview(m.__new__(m)).nbytes == memoryview(tp.__new__(tp)).nbytes
    for f in _stdlib_fields(tp) if same else ():
        a, b = getattr(tp, f[0]), getattr(m, f[0])
        if (a.offset, a.size) != (b.offset, b.size):
            same = False
            break
    if not same:
        del _mapped[tp]
        raise TypeError(
            f"ferrotype cannot reproduce the layout of {tp.__qualname__} from the standard "
            "library's ctypes; call ferrotype.install() first so that one ctypes is used"
        )
    return m


def _map_funcptr(tp):
    restype = getattr(tp, "_restype_", None)
    if isinstance(restype, type):
        restype = _map_type(restype, "restype")
    argtypes = getattr(tp, "_argtypes_", None)
    ns = {
        "__module__": tp.__module__,
        "__qualname__": tp.__qualname__,
        "_flags_": tp._flags_,
        "_restype_": restype,
    }
    if argtypes is not None:
        ns["_argtypes_"] = tuple(_map_type(t, "argument type") for t in argtypes)
    return type(_native.CFuncPtr)(tp.__name__, (_native.CFuncPtr,), ns)


def ferrotype_type(tp):
    """The ferrotype type equivalent to ``tp``, a type of the standard library's ctypes
    (see the module's docstring), or None if ``tp`` is not one. Cached per type."""
    try:
        return _mapped[tp]
    except (KeyError, TypeError):
        pass
    kind = _stdlib_kind(tp)
    if kind is None or _is_root(tp):
        return None
    if kind == "simple":
        m = _map_simple(tp)
    elif kind == "array":
        m = _map_type(tp._type_, "element type") * tp._length_
    elif kind == "pointer":
        if "_type_" not in tp.__dict__ and not hasattr(tp, "_type_"):
            raise TypeError(
                f"{tp.__name__} is an incomplete pointer type of the standard library's "
                "ctypes; ferrotype cannot map it"
            )
        m = _ft().POINTER(_map_type(tp._type_, "pointer target"))
    elif kind == "funcptr":
        m = _map_funcptr(tp)
    else:
        return _map_compound(tp, kind)
    _mapped[tp] = m
    return m


def map_fields(fields):
    """``_fields_`` with the stdlib types among its field types mapped (unchanged, and
    the same object, when there is none)."""
    # Only a sized collection is read here, by index up to its length and one entry at
    # a time, as the layout reads it: an iterator would be used up before the layout
    # reads it, and an object iterable only by index (a pointer, or one whose
    # `__getitem__` never raises IndexError) never ends. The first entry that is not a
    # tuple or list of at least two items, or that fails to read, ends the reading and
    # leaves `_fields_` to the layout, which refuses it with ctypes' error in ctypes'
    # order; so does a length that no memory could hold (the layout's MemoryError).
    try:
        n = len(fields)
    except Exception:
        return fields
    if n > _sys.maxsize // 64:
        return fields
    changed = False
    out = []
    for i in range(n):
        try:
            f = fields[i]
        except Exception:
            return fields
        if not isinstance(f, (tuple, list)) or len(f) < 2:
            return fields
        if _stdlib_kind(f[1]) is not None:
            mapped = (f[0], _map_type(f[1], "field type"), *f[2:])
            f = list(mapped) if isinstance(f, list) else mapped
            changed = True
        out.append(f)
    return out if changed else fields


def _kind(tp):
    for base, kind in (
        (_native._SimpleCData, "simple"),
        (_native.Array, "array"),
        (_native._Pointer, "pointer"),
        (_native.CFuncPtr, "funcptr"),
        (_native.Structure, "struct"),
        (_native.Union, "union"),
    ):
        if issubclass(tp, base):
            return kind
    return None


def _fields(tp):
    out = []
    for klass in reversed(tp.__mro__):
        out.extend(klass.__dict__.get("_fields_", ()))
    return out


def _compatible(a, b, seen=None):
    """Whether the ferrotype types ``a`` and ``b`` describe the same C type (see the
    module's docstring)."""
    if a is b:
        return True
    if not (isinstance(a, type) and isinstance(b, type)):
        return a == b
    try:
        return _compat_cache[b][a]
    except (KeyError, TypeError):
        pass
    top = seen is None
    if top:
        seen = set()
    key = (id(a), id(b))
    if key in seen:
        return True  # a recursive type: assume the pair, as the outer comparison checks it
    seen.add(key)
    result = _compare(a, b, seen)
    if top or result is False:
        _compat_cache.setdefault(b, _weakref.WeakKeyDictionary())[a] = result
    return result


def _compare(a, b, seen):
    ia, ib = getattr(a, "_ft_info_", None), getattr(b, "_ft_info_", None)
    if ia is None or ib is None:
        return False
    kind = _kind(a)
    if kind != _kind(b) or (ia.size, ia.align) != (ib.size, ib.align):
        return False
    if kind == "simple":
        return a._type_ == b._type_ and ia.format == ib.format
    if kind == "array":
        return a._length_ == b._length_ and _compatible(a._type_, b._type_, seen)
    if kind == "pointer":
        ta, tb = getattr(a, "_type_", None), getattr(b, "_type_", None)
        return ta is not None and tb is not None and _compatible(ta, tb, seen)
    if kind == "funcptr":
        aa, ab = getattr(a, "_argtypes_", None) or (), getattr(b, "_argtypes_", None) or ()
        return (
            getattr(a, "_flags_", None) == getattr(b, "_flags_", None)
            and len(aa) == len(ab)
            and _compatible(getattr(a, "_restype_", None), getattr(b, "_restype_", None), seen)
            and all(_compatible(x, y, seen) for x, y in zip(aa, ab, strict=True))
        )
    fa, fb = _fields(a), _fields(b)
    if len(fa) != len(fb):
        return False
    for x, y in zip(fa, fb, strict=True):
        if x[0] != y[0] or len(x) != len(y) or x[2:] != y[2:]:
            return False
        da, db = getattr(a, x[0]), getattr(b, y[0])
        if (da.offset, da.size) != (db.offset, db.size):
            return False
        if not _compatible(x[1], y[1], seen):
            return False
    return True


def _candidates(want, m):
    """The ferrotype types a stdlib instance mapped to ``m`` may be viewed as, for a
    place that wants ``want``: ``want`` itself, and for a pointer type its target (taken
    by reference) or an array of its target (an array for a pointer argument)."""
    yield want
    if _kind(want) == "pointer":
        target = getattr(want, "_type_", None)
        if isinstance(target, type):
            yield target
            if _kind(m) == "array":
                yield target * m._length_


def _stdlib_byref_address(obj):
    """The address held by the stdlib ``CArgObject`` ``obj`` (a ``byref``)."""
    std = _sys.modules.get("ctypes")
    c_void_p = getattr(std, "c_void_p", None)
    if _stdlib_kind(c_void_p) == "simple" and callable(getattr(std, "cast", None)):
        return std.cast(obj, c_void_p).value or 0
    # ctypes replaced by ferrotype in sys.modules: the address is in the repr.
    text = repr(obj)
    return int(text[text.index("(") + 1 : text.rindex(")")], 16)


def _adopt(obj, want=None):
    """A ferrotype object standing for ``obj`` when it comes from the standard library's
    ctypes, else None: a view of ``want`` (if compatible) or of the mapped type over the
    object's memory, keeping it alive; for a stdlib ``byref(x)``, ferrotype's ``byref``
    of such a view of ``x`` at the same address."""
    tp = type(obj)
    if tp.__name__ == "CArgObject":
        if isinstance(obj, _native.CArgObject) or not repr(obj).startswith("<cparam 'P'"):
            return None
        target = getattr(obj, "_obj", None)
        view = _adopt(target, want)
        if view is None:
            return None
        return _native.byref(view, _stdlib_byref_address(obj) - _native.addressof(view))
    m = ferrotype_type(tp)
    if m is None:
        return None
    cls = m
    if want is not None and isinstance(want, type) and want is not m:
        for c in _candidates(want, m):
            if getattr(c, "_ft_info_", None) is not None and _compatible(m, c):
                cls = c
                break
    return _native.from_buffer(cls, obj, 0, False)


def _sizeof(obj):
    """``sizeof`` of a stdlib type or instance, or None if ``obj`` is neither."""
    if isinstance(obj, type):
        m = ferrotype_type(obj)
        return None if m is None else _native.sizeof(m)
    if ferrotype_type(type(obj)) is None:
        return None
    return memoryview(obj).nbytes


def _alignment(obj):
    """``alignment`` of a stdlib type or instance, or None if ``obj`` is neither."""
    m = ferrotype_type(obj if isinstance(obj, type) else type(obj))
    return None if m is None else _native.alignment(m)
