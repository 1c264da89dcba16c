"""The assumptions of the CPython boundary (``crates/ferrotype-py/src/capi/mod.rs``), checked.

Each test names the assumption of the soundness page it verifies. The layout assumption (1) is
checked at import itself: ``ferrotype._native`` refuses to load when it does not hold, so these
tests running at all is its check.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def native(ferrotype):
    return ferrotype._native


def test_data_classes_use_the_raw_instance_slots(ferrotype, native) -> None:
    """Assumption 2: subclasses inherit tp_new/tp_dealloc; tp_init is switched per class."""
    ft = ferrotype

    class Point(ft.Structure):
        _fields_ = [("x", ft.c_int), ("y", ft.c_double)]

    class Sub(Point):
        pass

    cases = [
        (native.Structure, Point),
        (native.Structure, Sub),
        (native._SimpleCData, ft.c_int),
        (native.Array, ft.c_int * 3),
        (native._Pointer, ft.POINTER(ft.c_int)),
        (native.Union, type("U", (ft.Union,), {"_fields_": [("a", ft.c_int)]})),
    ]
    pyo3_dealloc = native._slot_report(native._CData)["tp_dealloc"]
    for base, cls in cases:
        b, c = native._slot_report(base), native._slot_report(cls)
        assert c["tp_new"] == b["tp_new"] != 0, cls
        # Python subclasses free through CPython's subtype_dealloc, which calls the
        # native class's slot: the raw one, not PyO3's.
        assert b["tp_dealloc"] not in (0, pyo3_dealloc), base
        # The native class keeps PyO3's tp_init (its __init__ method); classes made from
        # it get the raw slot (assumption 3: PyO3's slot is recognised by address).
        assert c["tp_init"] not in (0, b["tp_init"]), cls
    # A class that defines __init__ in Python keeps its own.

    class Custom(ft.Structure):
        _fields_ = [("x", ft.c_int)]

        def __init__(self, x):
            super().__init__(x * 2)

    assert Custom(4).x == 8
    assert native._slot_report(Custom)["tp_init"] != native._slot_report(Point)["tp_init"]


def test_classes_are_called_through_the_raw_class_call(ferrotype, native) -> None:
    """Assumption 12: every class the raw tp_init was given to also gets the class call as
    its tp_vectorcall, and every ferrotype metaclass lets the interpreter use it."""
    ft = ferrotype

    class Point(ft.Structure):
        _fields_ = [("x", ft.c_int), ("y", ft.c_double)]

    class Sub(Point):
        pass

    classes = [
        Point,
        Sub,
        ft.c_int,
        ft.c_double,
        ft.c_int * 3,
        ft.POINTER(ft.c_int),
        type("U", (ft.Union,), {"_fields_": [("a", ft.c_int)]}),
    ]
    calls = {native._slot_report(cls)["tp_vectorcall"] for cls in classes}
    assert 0 not in calls
    for cls in classes:
        assert native._slot_report(type(cls))["have_vectorcall"], type(cls)
    # The abstract natives and a class with its own __init__ have none.
    for cls in (native.Structure, native._SimpleCData):
        assert native._slot_report(cls)["tp_vectorcall"] == 0

    class Custom(ft.Structure):
        _fields_ = [("x", ft.c_int)]

        def __init__(self, x):
            super().__init__(x * 2)

    assert native._slot_report(Custom)["tp_vectorcall"] == 0
    assert Custom(4).x == 8


def test_native_new_methods_reach_the_raw_slot(ferrotype, native) -> None:
    """`T.__new__(T)` (pickling calls it) makes an instance through the raw slot, and giving
    the natives a `__new__` does not turn their subclasses' tp_new into a Python-level one."""
    ft = ferrotype
    for base, cls in [
        (native._SimpleCData, ft.c_int),
        (native.Array, ft.c_int * 2),
        (native._Pointer, ft.POINTER(ft.c_int)),
        (native.Structure, type("S", (ft.Structure,), {"_fields_": [("a", ft.c_int)]})),
        (native.Union, type("U", (ft.Union,), {"_fields_": [("a", ft.c_int)]})),
    ]:
        assert type(base.__dict__["__new__"]).__name__ == "builtin_function_or_method"
        obj = cls.__new__(cls)
        assert type(obj) is cls and ft.sizeof(obj) == ft.sizeof(cls)
        assert native._slot_report(cls)["tp_new"] == native._slot_report(base)["tp_new"]
    with pytest.raises(TypeError):
        native._SimpleCData.__new__(int)


def test_subscript_slots_are_switched_per_class(ferrotype, native) -> None:
    """Assumptions 2 and 3: mp_subscript is re-derived per class and replaced."""
    ft = ferrotype
    for base, cls in [(native.Array, ft.c_int * 4), (native._Pointer, ft.POINTER(ft.c_double))]:
        b, c = native._slot_report(base), native._slot_report(cls)
        assert c["mp_subscript"] not in (0, b["mp_subscript"])

    class Own(ft.c_int * 2):
        def __getitem__(self, i):
            return "own"

    assert Own()[0] == "own"
    a = (ft.c_int * 3)(1, 2, 3)
    assert (a[1], a[-1], a[0:2]) == (2, 3, [1, 2])


def test_sequence_item_slot_is_switched_per_class(ferrotype, native) -> None:
    """Assumptions 2 and 3: sq_item (the sequence iterator's read) is replaced per array
    class, and a class defining ``__getitem__`` keeps its own."""
    ft = ferrotype
    b, c = native._slot_report(native.Array), native._slot_report(ft.c_int * 4)
    assert c["sq_item"] not in (0, b["sq_item"])
    assert native._slot_report(ft.c_double * 2)["sq_item"] == c["sq_item"]
    a = (ft.c_double * 4)(1, 2, 3, 4)
    assert list(a) == [1.0, 2.0, 3.0, 4.0]
    assert list(iter((ft.c_int * 0)())) == []

    class Own(ft.c_int * 2):
        def __getitem__(self, i):
            if i >= 2:
                raise IndexError(i)
            return "own"

    assert list(Own()) == ["own", "own"]
    assert native._slot_report(Own)["sq_item"] != c["sq_item"]


def test_own_type_information_is_held_by_the_type_object(ferrotype) -> None:
    """Assumption 10: a class's own StgInfo is in ``tp_cache``, a strong reference CPython
    visits (``gc.get_referents``) and releases with the class; a subclass does not
    inherit the field."""
    import ctypes
    import gc
    import weakref

    ft = ferrotype
    # offsetof(PyTypeObject, tp_cache) on 64-bit builds: 44 pointer-sized fields precede it
    # (unchanged from 3.8 to 3.15).
    tp_cache = 8 * 44

    def cached(cls):
        return ctypes.c_void_p.from_address(id(cls) + tp_cache).value

    class P(ft.Structure):
        _fields_ = [("x", ft.c_int)]

    info = P.__dict__["_ft_info_"]
    assert cached(P) == id(info)
    assert info in gc.get_referents(P)

    class Q(P):
        pass

    assert cached(Q) == id(Q.__dict__["_ft_info_"]) != id(info)

    class R(ft.c_int):
        pass

    assert cached(R) in (None, id(R.__dict__.get("_ft_info_")))
    # The information refers to the class (through its field descriptors): the class is
    # collected only if the type object's reference was released with it.
    alive = weakref.ref(P)
    del P, Q, info
    gc.collect()
    assert alive() is None

    # And the information itself is released with the class.
    def infos():
        return sum(type(o).__name__ == "StgInfo" for o in gc.get_objects())

    gc.collect()
    n = infos()
    for _ in range(3):

        class S(ft.Structure):
            _fields_ = [("x", ft.c_int), ("y", ft.c_double)]

        del S
        gc.collect()
    assert infos() == n


def test_descriptor_and_vectorcall_slots(ferrotype, native) -> None:
    """Assumption 2: tp_descr_get on the descriptor classes, vectorcall on every function type."""
    ft = ferrotype
    assert native._slot_report(native.CField)["tp_descr_get"] != 0
    assert native._slot_report(native.CharArrayAttr)["tp_descr_get"] != 0
    proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)

    class Sub(proto):
        pass

    for cls in (proto, Sub):
        r = native._slot_report(cls)
        assert r["have_vectorcall"] and r["tp_vectorcall_offset"] > 0
    assert Sub(lambda v: v + 1)(41) == 42


def test_numpy_array_head_matches_numpy(native) -> None:
    """Assumption 7: the facts read from NumPy's struct head are NumPy's own."""
    np = pytest.importorskip("numpy")
    base = np.arange(24, dtype=np.int32).reshape(4, 6)
    ro = np.zeros(3)
    ro.flags.writeable = False
    cases = [
        base,
        base[:, 1:4],
        base.T,
        np.zeros((), dtype=np.float64),
        np.zeros((2, 0, 3), dtype=np.uint8),
        ro,
        np.zeros(5, dtype=[("a", "<i4"), ("b", "<f8")]),
    ]
    for arr in cases:
        facts = native.ndarray_facts(arr, np.ndarray)
        assert facts is not None
        address, shape, c_contiguous, writeable, dtype = facts
        assert address == arr.__array_interface__["data"][0]
        assert shape == arr.shape
        assert c_contiguous == arr.flags.c_contiguous
        assert writeable == arr.flags.writeable
        assert dtype is arr.dtype
    assert native.ndarray_facts([1, 2], np.ndarray) is None


def test_bases_are_the_native_classes_with_their_metaclasses(ferrotype, native) -> None:
    """Assumption 9: each public base is the native class, a direct subclass of `_CData`,
    whose metaclass is the Python metaclass; the bases and metaclasses are immutable."""
    import ferrotype._ctypes as fc

    immutable = 1 << 8
    for name, meta in [
        ("_SimpleCData", fc.PyCSimpleType),
        ("Array", fc.PyCArrayType),
        ("_Pointer", fc.PyCPointerType),
        ("CFuncPtr", fc.PyCFuncPtrType),
        ("Structure", fc.PyCStructType),
        ("Union", fc.UnionType),
    ]:
        cls = getattr(fc, name)
        assert cls is getattr(native, name)
        assert cls.__mro__ == (cls, native._CData, object)
        assert type(cls) is meta
        assert cls.__flags__ & immutable and meta.__flags__ & immutable
        assert type(meta) is type
        with pytest.raises(TypeError):
            cls.anything = 1
        with pytest.raises(TypeError):
            meta.anything = 1

    # A user class is mutable, and its metaclass is the base's.
    class S(fc.Structure):
        _fields_ = [("x", ferrotype.c_int)]

    S.anything = 1
    assert type(S) is fc.PyCStructType and not S.__flags__ & immutable


def test_set_metaclass_refuses_what_it_cannot_make_sound(ferrotype, native) -> None:
    import ctypes

    import ferrotype._ctypes as fc

    class Plain(type):
        pass

    # Not a native data class, or a base whose metaclass was changed already.
    for cls, meta in [
        (int, Plain),
        (native._CData, Plain),
        (fc.Structure, Plain),
    ]:
        with pytest.raises(TypeError):
            native._set_metaclass(cls, meta)
    # Not a Python subclass of `type` that adds nothing to it: the stdlib's metaclass
    # (static, or with room for its type information), or not a metaclass at all. (Every
    # native base has its metaclass already, which alone is refused too: the layout
    # checks cannot be reached separately from Python.)
    for meta in (type(ctypes.Structure), int):
        with pytest.raises(TypeError):
            native._set_metaclass(native.Union, meta)


def test_cfield_instantiation_as_in_the_stdlib(ferrotype) -> None:
    """Assumption 9: CField is immutable; it cannot be instantiated before 3.14 (3.14 adds
    a private constructor), as the stdlib's."""
    import ctypes

    class S(ferrotype.Structure):
        _fields_ = [("x", ferrotype.c_int)]

    cfield = type(S.x)
    assert cfield.__flags__ & (1 << 8)
    disallowed = not hasattr(ctypes, "CField")
    assert bool(cfield.__flags__ & (1 << 7)) == disallowed
    if disallowed:
        with pytest.raises(TypeError, match="cannot create"):
            cfield()
    with pytest.raises(TypeError):
        object.__new__(cfield)
