"""Objects of the standard library's ctypes handed to ferrotype without ``install()``.

Each test calls the C fixture through ferrotype with stdlib instances, and checks that
what C writes lands in the stdlib objects, that incompatible objects raise what an
incompatible ferrotype instance raises, and that the objects are kept alive.
"""

import ctypes
import gc
import warnings
import weakref

import pytest


@pytest.fixture
def ft(ferrotype):
    return ferrotype


@pytest.fixture
def flib(ft, fixture_path):
    return ft.CDLL(fixture_path)


class SPoint(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]


class SRec(ctypes.Structure):
    _fields_ = [("a", ctypes.c_int), ("name", ctypes.c_char * 8), ("d", ctypes.c_double)]


class SBits(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int, 3), ("y", ctypes.c_uint, 5), ("z", ctypes.c_int)]


class SNum(ctypes.Union):
    _fields_ = [("i", ctypes.c_int), ("f", ctypes.c_float), ("b", ctypes.c_ubyte * 4)]


@pytest.fixture
def FPoint(ft):
    class FPoint(ft.Structure):
        _fields_ = [("x", ft.c_double), ("y", ft.c_double)]

    return FPoint


def message(call):
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value)


# ---- arguments without argtypes ------------------------------------------------------------------


def test_untyped_arguments(flib):
    x = ctypes.c_int(0)
    flib.set_int(ctypes.byref(x), 7)
    assert x.value == 7
    flib.set_int(ctypes.pointer(x), 8)
    assert x.value == 8
    arr = (ctypes.c_int * 4)(1, 2, 3, 4)
    assert flib.sum_ints(arr, 4) == 10
    assert flib.add(ctypes.c_int(3), ctypes.c_int(4)) == 7


def test_untyped_structure_by_value(flib, FPoint):
    f = flib.ft_pt_add
    f.restype = FPoint
    r = f(SPoint(1, 2), FPoint(10, 20))
    assert (r.x, r.y) == (11, 22)


# ---- arguments with argtypes ---------------------------------------------------------------------


def test_simple_arguments(ft, flib):
    f = flib.add
    f.argtypes = [ft.c_int, ft.c_int]
    assert f(ctypes.c_int(5), 6) == 11
    # Another code: refused as a ferrotype c_long instance is.
    assert message(lambda: f(ctypes.c_long(5), 6)) == message(lambda: f(ft.c_long(5), 6))


def test_pointer_arguments(ft, flib):
    f = flib.set_int
    f.argtypes = [ft.POINTER(ft.c_int), ft.c_int]
    x = ctypes.c_int(0)
    for i, arg in enumerate((x, ctypes.byref(x), ctypes.pointer(x), ft.byref(x), ft.pointer(x))):
        f(arg, 10 + i)
        assert x.value == 10 + i
    g = flib.sum_ints
    g.argtypes = [ft.POINTER(ft.c_int), ft.c_int]
    assert g((ctypes.c_int * 3)(1, 2, 3), 3) == 6
    assert message(lambda: f(ctypes.c_double(), 1)) == message(lambda: f(ft.c_double(), 1))


def test_structure_arguments(ft, flib, FPoint):
    norm = flib.ft_pt_norm2
    norm.restype = ft.c_double
    norm.argtypes = [ft.POINTER(FPoint)]
    assert norm(SPoint(3, 4)) == 25
    assert norm(ctypes.byref(SPoint(1, 2))) == 5
    assert norm(ctypes.pointer(SPoint(2, 2))) == 8
    scale = flib.ft_pt_scale
    scale.argtypes = [ft.POINTER(FPoint), ft.c_double]
    p = SPoint(1, 2)
    scale(p, 3)
    assert (p.x, p.y) == (3, 6)
    add = flib.ft_pt_add
    add.restype = FPoint
    add.argtypes = [FPoint, FPoint]
    r = add(SPoint(1, 2), SPoint(10, 20))
    assert (r.x, r.y) == (11, 22)

    class Other(ctypes.Structure):
        _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_float)]

    # The same name, so that the messages can be compared.
    FOther = type(ft.Structure)(
        "Other", (ft.Structure,), {"_fields_": [("x", ft.c_double), ("y", ft.c_float)]}
    )

    assert message(lambda: norm(Other())) == message(lambda: norm(FOther()))
    assert message(lambda: add(Other(), SPoint())) == message(lambda: add(FOther(), SPoint()))


def test_writes_land_in_stdlib_objects(ft, flib):
    class FRec(ft.Structure):
        _fields_ = [("a", ft.c_int), ("name", ft.c_char * 8), ("d", ft.c_double)]

    class FBits(ft.Structure):
        _fields_ = [("x", ft.c_int, 3), ("y", ft.c_uint, 5), ("z", ft.c_int)]

    class FNum(ft.Union):
        _fields_ = [("i", ft.c_int), ("f", ft.c_float), ("b", ft.c_ubyte * 4)]

    fill = flib.ft_rec_fill
    fill.argtypes = [ft.POINTER(FRec), ft.c_int]
    r = SRec()
    fill(r, 6)
    assert (r.a, r.name, r.d) == (6, b"filled", 3.0)
    pack = flib.ft_bits_pack
    pack.argtypes = [ft.c_int, ft.c_uint, ft.c_int, ft.POINTER(FBits)]
    b = SBits()
    assert pack(-2, 17, 99, b) == ctypes.sizeof(SBits)
    assert (b.x, b.y, b.z) == (-2, 17, 99)
    as_float = flib.ft_num_as_float
    as_float.restype = ft.c_float
    as_float.argtypes = [ft.POINTER(FNum)]
    n = SNum()
    n.f = 1.5
    assert as_float(n) == 1.5
    d = ctypes.c_double()
    setd = flib.set_double
    setd.argtypes = [ft.c_void_p, ft.c_double]
    setd(ctypes.byref(d), 2.5)
    assert d.value == 2.5
    # As with a ferrotype c_double, a c_void_p parameter takes no c_double instance.
    assert message(lambda: setd(d, 1)) == message(lambda: setd(ft.c_double(), 1))


def test_from_param(ft, FPoint):
    assert ft.c_int.from_param(ctypes.c_int(4))._obj.value == 4
    assert isinstance(FPoint.from_param(SPoint(1, 2)), FPoint)
    assert ft.POINTER(ft.c_int).from_param(ctypes.pointer(ctypes.c_int(3)))
    ptype = ft.CFUNCTYPE(ft.c_int, ft.c_int)
    cb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda v: v * 2)
    assert (
        ft.cast(ptype.from_param(cb), ft.c_void_p).value == ctypes.cast(cb, ctypes.c_void_p).value
    )
    with pytest.raises(TypeError):
        FPoint.from_param(SRec())


# ---- module functions ----------------------------------------------------------------------------


def test_sizeof_alignment(ft):
    for t in (ctypes.c_int, ctypes.c_double, SPoint, SRec, SBits, SNum, ctypes.c_char * 5):
        assert ft.sizeof(t) == ctypes.sizeof(t)
        assert ft.sizeof(t()) == ctypes.sizeof(t)
        assert ft.alignment(t) == ctypes.alignment(t)
        assert ft.alignment(t()) == ctypes.alignment(t)
    big = ctypes.c_int()
    ctypes.resize(big, 16)
    assert ft.sizeof(big) == 16
    with pytest.raises(TypeError):
        ft.sizeof(object)


def test_address_functions(ft):
    x = ctypes.c_int(5)
    assert ft.addressof(x) == ctypes.addressof(x)
    r = ft.byref(x, 2)
    assert r._obj is x
    assert ft.cast(r, ft.c_void_p).value == ctypes.addressof(x) + 2
    arr = (ctypes.c_int * 4)(1, 2, 3, 4)
    assert ft.cast(arr, ft.POINTER(ft.c_int))[2] == 3
    assert ft.cast(arr, ctypes.POINTER(ctypes.c_int))[3] == 4
    ft.memset(arr, 0, 8)
    assert list(arr) == [0, 0, 3, 4]
    ft.memmove(arr, (ft.c_int * 2)(5, 6), 8)
    assert list(arr) == [5, 6, 3, 4]
    assert ft.string_at(arr, 4) == b"\x05\x00\x00\x00"
    assert ft.c_int.from_buffer(x).value == 5
    with pytest.raises(ValueError):
        ft.c_double.from_buffer(ctypes.c_int())


def test_pointers_to_stdlib_objects(ft):
    x = ctypes.c_int(13)
    p = ft.pointer(x)
    assert p.contents.value == 13
    p.contents.value = 14
    assert x.value == 14
    assert ft.POINTER(ft.c_int)(x)[0] == 14
    q = ft.POINTER(ft.c_int)()
    q.contents = x
    assert q[0] == 14
    with pytest.raises(TypeError):
        ft.POINTER(ft.c_double)(ctypes.c_int())  # smaller than the target


# ---- fields, elements, keep-alive ----------------------------------------------------------------


def test_fields_and_elements(ft, FPoint):
    class Holder(ft.Structure):
        _fields_ = [("p", ft.POINTER(ft.c_int)), ("pt", FPoint), ("i", ft.c_int)]

    h = Holder()
    h.pt = SPoint(5, 6)
    h.i = ctypes.c_int(3)
    assert (h.pt.x, h.pt.y, h.i) == (5, 6, 3)
    pts = (FPoint * 2)()
    pts[1] = SPoint(7, 8)
    assert (pts[1].x, pts[1].y) == (7, 8)
    with pytest.raises(TypeError) as a:
        h.pt = SRec()
    with pytest.raises(TypeError) as b:
        h.pt = Holder()
    assert a.type is b.type


def test_keep_alive(ft, flib, FPoint):
    class Holder(ft.Structure):
        _fields_ = [("pp", ft.POINTER(FPoint))]

    w = SPoint(1, 2)
    alive = weakref.ref(w)
    h = Holder()
    h.pp = ctypes.pointer(w)  # a temporary stdlib pointer, kept by h._objects
    del w
    gc.collect()
    assert alive() is not None
    assert h.pp.contents.x == 1
    assert h._objects
    # A temporary argument survives the call.
    get = flib.get_through
    get.argtypes = [ft.POINTER(ft.c_int)]
    assert get(ctypes.pointer(ctypes.c_int(42))) == 42
    r = ft.byref(ctypes.c_int(9))
    gc.collect()
    assert r._obj.value == 9


# ---- stdlib types where ferrotype expects types --------------------------------------------------


def test_stdlib_types_are_mapped(ft, flib):
    f = flib.add
    f.argtypes = [ctypes.c_int, ctypes.c_int]
    f.restype = ctypes.c_int
    assert f(2, 3) == 5
    p = flib.ft_pt_add
    p.argtypes = [SPoint, SPoint]
    p.restype = SPoint
    r = p(SPoint(1, 1), SPoint(2, 3))
    assert (r.x, r.y) == (3, 4)
    assert isinstance(r, ft.Structure)

    class H(ft.Structure):
        _fields_ = [("a", ctypes.c_int), ("pt", SPoint)]

    assert ft.sizeof(H) == 24
    assert ft.POINTER(ctypes.c_int) is ft.POINTER(ft.c_int)
    assert issubclass(ft.POINTER(SPoint)._type_, ft.Structure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.14: POINTER with a string
        incomplete = ctypes.POINTER("incomplete_interop")
    with pytest.raises(TypeError, match="incomplete"):
        ft.sizeof(incomplete)


# ---- NumPy's arr.ctypes (stdlib ctypes when ferrotype is not installed) --------------------------


def test_numpy_ctypes(ft, flib, fixture_path):
    np = pytest.importorskip("numpy")
    a = np.arange(4, dtype=np.int32)
    assert flib.sum_ints(a.ctypes, 4) == 6
    g = flib.sum_ints
    g.argtypes = [ft.POINTER(ft.c_int), ft.c_int]
    assert g(a.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), 4) == 6
    v = ft.CDLL(fixture_path).sum_ints
    v.argtypes = [ft.c_void_p, ft.c_int]
    assert v(a.ctypes, 4) == 6
    assert v(a.ctypes.data_as(ctypes.c_void_p), 4) == 6
    d = np.zeros(3)
    s = flib.set_double
    s.argtypes = [ft.POINTER(ft.c_double), ft.c_double]
    s(d.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), 2.5)
    assert d[0] == 2.5
    m = np.zeros((2, 3), dtype=np.int64)
    assert ft.cast(m.ctypes.shape, ft.POINTER(ft.c_ssize_t))[1] == 3
    assert list(ft.cast(m.ctypes.strides, ft.POINTER(ft.c_ssize_t))[:2]) == [24, 8]
    assert ft.sizeof(m.ctypes.shape) == 2 * ft.sizeof(ft.c_ssize_t)
