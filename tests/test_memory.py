"""The memory helpers: string buffers, string_at/wstring_at, memmove/memset, addressof, byref,
pointer/POINTER, cast, sizeof/alignment, in_dll.

Raw-address operations are only ever given addresses of live objects owned by the test.
"""

import gc
import re
import weakref

import pytest
from stdlib_errors import raises_like_stdlib, stdlib_error

# ---- create_string_buffer / create_unicode_buffer -----------------------------------------------


def test_string_buffer_from_bytes(ct):
    buf = ct.create_string_buffer(b"abc")
    assert type(buf).__name__ == "c_char_Array_4"
    assert isinstance(buf, ct.Array)
    assert buf._type_ is ct.c_char
    assert buf.value == b"abc"
    assert buf.raw == b"abc\x00"
    assert len(buf) == 4
    assert ct.sizeof(buf) == 4
    assert buf[0] == b"a"
    assert buf[:2] == b"ab"
    # (the module is that of whoever made `c_char * 4` first, in ctypes as in ferrotype)
    assert re.fullmatch(r"<[\w.]+\.c_char_Array_4 object at 0x[0-9a-f]+>", repr(buf))


def test_string_buffer_with_size(ct):
    buf = ct.create_string_buffer(b"abc", 10)
    assert buf.raw == b"abc" + b"\x00" * 7
    assert buf.value == b"abc"
    assert len(buf) == 10
    exact = ct.create_string_buffer(b"abc", 3)  # no room for the NUL: allowed
    assert exact.raw == b"abc"
    with pytest.raises(ValueError, match="^byte string too long$"):
        ct.create_string_buffer(b"abc", 2)


def test_string_buffer_of_size(ct):
    buf = ct.create_string_buffer(5)
    assert buf.raw == b"\x00" * 5
    assert buf.value == b""
    assert ct.create_string_buffer(0).raw == b""


def test_string_buffer_value_and_raw_setters(ct):
    buf = ct.create_string_buffer(b"abc")
    buf.value = b"xy"
    assert buf.raw == b"xy\x00\x00"
    with pytest.raises(ValueError, match="^byte string too long$"):
        buf.value = b"toolong"
    buf.raw = b"1234"
    assert buf.raw == b"1234"
    with pytest.raises(ValueError, match="^byte string too long$"):
        buf.raw = b"12345"
    buf[0] = b"Z"
    assert buf.raw == b"Z234"


def test_string_buffer_value_stops_at_nul(ct):
    buf = ct.create_string_buffer(b"ab\x00cd")
    assert buf.value == b"ab"
    assert buf.raw == b"ab\x00cd\x00"


@pytest.mark.parametrize("arg", ["abc", 1.5, None, bytearray(b"a")], ids=repr)
def test_string_buffer_wrong_type(ct, arg):
    with pytest.raises(TypeError) as info:
        ct.create_string_buffer(arg)
    assert str(info.value) == str(arg)  # ctypes raises TypeError(init)


def test_unicode_buffer(ct):
    buf = ct.create_unicode_buffer("abc")
    assert type(buf).__name__ == "c_wchar_Array_4"
    assert buf._type_ is ct.c_wchar
    assert buf.value == "abc"
    assert len(buf) == 4
    assert ct.sizeof(buf) == 4 * ct.sizeof(ct.c_wchar)
    assert buf[0] == "a"
    assert ct.create_unicode_buffer(3).value == ""
    assert ct.create_unicode_buffer("ab", 5)[:] == "ab\x00\x00\x00"
    # wchar_t is UTF-32 here: one element per code point
    assert len(ct.create_unicode_buffer("\U0001f600")) == 2
    assert not hasattr(buf, "raw")


def test_unicode_buffer_errors(ct):
    with pytest.raises(ValueError, match="^string too long$"):
        ct.create_unicode_buffer("abc", 2)
    with pytest.raises(TypeError):
        ct.create_unicode_buffer(b"ab")
    buf = ct.create_unicode_buffer("abc")
    buf.value = "xy"
    assert buf[:] == "xy\x00\x00"
    with pytest.raises(ValueError, match="^string too long$"):
        buf.value = "toolong"


def test_c_fills_a_string_buffer(ct, cfunc):
    fill = cfunc("fill_buffer", ct.c_int, ct.c_char_p, ct.c_size_t, ct.c_int)
    buf = ct.create_string_buffer(32)
    assert fill(buf, ct.sizeof(buf), 42) == len(b"filled:42")
    assert buf.value == b"filled:42"
    small = ct.create_string_buffer(5)
    assert fill(small, ct.sizeof(small), -7) == len(b"filled:-7")
    assert small.raw == b"fill\x00"


def test_c_modifies_a_string_buffer_in_place(ct, lib):
    buf = ct.create_string_buffer(b"Hello, world")
    assert lib.upper_in_place(buf) == 9
    assert buf.value == b"HELLO, WORLD"


def test_bytes_passed_to_c_are_not_modified(ct, lib):
    # ctypes passes a pointer into the bytes object; a copy is never made, so only test reading.
    data = b"abc"
    assert lib.str_len(data) == 3
    assert data == b"abc"


# ---- string_at / wstring_at ---------------------------------------------------------------------


def test_string_at(ct):
    buf = ct.create_string_buffer(b"xyz")
    assert ct.string_at(buf) == b"xyz"
    assert ct.string_at(buf, 2) == b"xy"
    assert ct.string_at(ct.addressof(buf)) == b"xyz"
    assert ct.string_at(ct.addressof(buf), 4) == b"xyz\x00"
    assert ct.string_at(b"abc\x00def", 7) == b"abc\x00def"
    assert ct.string_at(b"abc", 0) == b""
    assert ct.string_at(ct.c_char_p(b"q")) == b"q"


def test_string_at_static_c_string(ct, cfunc):
    address = cfunc("get_static_string", ct.c_void_p)()
    assert ct.string_at(address) == b"hello from C"
    assert ct.string_at(address, 5) == b"hello"


def test_wstring_at(ct, cfunc):
    buf = ct.create_unicode_buffer("hello")
    assert ct.wstring_at(buf) == "hello"
    assert ct.wstring_at(ct.addressof(buf)) == "hello"
    assert ct.wstring_at(ct.addressof(buf), 3) == "hel"
    assert ct.wstring_at(buf, 0) == ""
    assert ct.wstring_at("abc") == "abc"
    assert ct.wstring_at("abc", 2) == "ab"
    address = cfunc("get_static_wstring", ct.c_void_p)()
    assert ct.wstring_at(address) == "wide \u00e9\u4e2d"


def test_string_at_wrong_type(ct):
    error = raises_like_stdlib(ct, lambda m: m.string_at(1.5))
    assert type(error) is ct.ArgumentError


# ---- memmove / memset ---------------------------------------------------------------------------


def test_memmove(ct):
    buf = ct.create_string_buffer(8)
    assert ct.memmove(buf, b"xyz", 3) == ct.addressof(buf)  # returns dst as an int
    assert buf.raw == b"xyz" + b"\x00" * 5
    # overlapping copy between two addresses in the same buffer
    ct.memmove(ct.addressof(buf) + 4, ct.addressof(buf), 3)
    assert buf.raw == b"xyz\x00xyz\x00"


def test_memmove_into_a_simple_instance(ct):
    x = ct.c_int(0)
    ct.memmove(ct.byref(x), bytes(ct.c_int(123)), ct.sizeof(x))
    assert x.value == 123
    y = ct.c_double(0)
    ct.memmove(ct.addressof(y), ct.byref(ct.c_double(2.5)), 8)
    assert y.value == 2.5


def test_memset(ct):
    buf = ct.create_string_buffer(8)
    assert ct.memset(buf, ord("A"), 3) == ct.addressof(buf)
    assert buf.raw == b"AAA" + b"\x00" * 5
    address = ct.addressof(buf) + 4
    assert ct.memset(address, 0x42, 2) == address
    assert buf.raw == b"AAA\x00BB\x00\x00"
    x = ct.c_int(-1)
    ct.memset(ct.byref(x), 0, 4)
    assert x.value == 0


# ---- addressof / byref --------------------------------------------------------------------------


def test_addressof_matches_c(ct, cfunc):
    addr_of = cfunc("addr_of", ct.c_void_p, ct.c_void_p)
    x = ct.c_int(1)
    buf = ct.create_string_buffer(4)
    assert type(ct.addressof(x)) is int
    assert addr_of(ct.byref(x)) == ct.addressof(x)
    assert addr_of(buf) == ct.addressof(buf)
    assert addr_of(ct.pointer(x)) == ct.addressof(x)


@pytest.mark.parametrize("arg", [1, b"x", None], ids=repr)
def test_addressof_wrong_type(ct, arg):
    # "invalid type" up to 3.13, "addressof() argument must be _ctypes._CData, not int" after
    error = raises_like_stdlib(ct, lambda m: m.addressof(arg))
    assert type(error) is TypeError


def test_addressof_of_a_type(ct):
    # from 3.14 the message ends with the metaclass's name, which is ferrotype's own
    exc, message = stdlib_error(lambda m: m.addressof(m.c_int))
    with pytest.raises(exc) as info:
        ct.addressof(ct.c_int)
    assert str(info.value).split(", not ")[0] == message.split(", not ")[0]


def test_byref(ct, cfunc):
    x = ct.c_int(5)
    ref = ct.byref(x)
    assert type(ref).__name__ == "CArgObject"
    assert ref._obj is x
    m = re.fullmatch(r"<cparam 'P' \(0x([0-9a-f]+)\)>", repr(ref))
    assert m is not None, repr(ref)
    assert int(m.group(1), 16) == ct.addressof(x)
    addr_of = cfunc("addr_of", ct.c_void_p, ct.c_void_p)
    assert addr_of(ct.byref(x, 3)) == ct.addressof(x) + 3


def test_byref_with_offset(ct, lib):
    arr = (ct.c_int * 4)(10, 20, 30, 40)
    assert lib.get_through(ct.byref(arr, 4)) == 20
    assert lib.sum_ints(ct.byref(arr, 8), 2) == 70


def test_byref_wrong_type(ct):
    # 3.14: "byref() argument 1 must be _ctypes._CData, not int"
    error = raises_like_stdlib(ct, lambda m: m.byref(1))
    assert type(error) is TypeError
    with pytest.raises(TypeError):
        ct.byref(ct.c_int(1), 1.5)


# ---- pointer / POINTER --------------------------------------------------------------------------


def test_pointer(ct):
    x = ct.c_int(5)
    p = ct.pointer(x)
    assert type(p) is ct.POINTER(ct.c_int)
    assert p.contents.value == 5
    assert p[0] == 5
    assert bool(p) is True
    assert re.fullmatch(r"<.*\.LP_c_int object at 0x[0-9a-f]+>", repr(p))
    p[0] = 7
    assert x.value == 7
    x.value = 8
    assert p.contents.value == 8


def test_pointer_contents_shares_memory(ct):
    x = ct.c_int(1)
    p = ct.pointer(x)
    # every .contents access makes a new object over the same memory
    assert p.contents is not p.contents
    assert ct.addressof(p.contents) == ct.addressof(x)
    y = ct.c_int(9)
    p.contents = y
    assert p[0] == 9
    p[0] = 11
    assert y.value == 11
    assert x.value == 1


def test_pointer_keeps_target_alive(ct):
    x = ct.c_int(5)
    ref = weakref.ref(x)
    p = ct.pointer(x)
    del x
    gc.collect()
    assert ref() is not None
    assert p.contents.value == 5
    assert p._objects == {"1": ref()}


def test_pointer_type_is_cached(ct):
    assert ct.POINTER(ct.c_int) is ct.POINTER(ct.c_int)
    assert ct.POINTER(ct.c_double) is not ct.POINTER(ct.c_int)
    lp = ct.POINTER(ct.c_int)
    assert lp.__name__ == "LP_c_int"
    assert lp._type_ is ct.c_int
    assert issubclass(lp, ct._Pointer)
    assert ct.sizeof(lp) == 8
    assert ct.alignment(lp) == 8
    assert ct.POINTER(ct.c_char_p).__name__ == "LP_c_char_p"
    assert ct.POINTER(lp).__name__ == "LP_LP_c_int"


def test_pointer_of_none_is_c_void_p(ct):
    assert ct.POINTER(None) is ct.c_void_p


def test_pointer_type_errors(ct):
    import ctypes

    if hasattr(ctypes, "_pointer_type_cache_fallback"):
        # 3.14: POINTER is Python code reading attributes; the error names the type.
        with pytest.raises(AttributeError, match="'int' object has no attribute '__name__'"):
            ct.POINTER(1)
        with pytest.raises(TypeError, match="^<class 'int'> must have storage info$"):
            ct.pointer(1)
    else:
        with pytest.raises(TypeError, match="^must be a ctypes type$"):
            ct.POINTER(1)
        with pytest.raises(TypeError, match="^_type_ must have storage info$"):
            ct.pointer(1)
    with pytest.raises(TypeError, match="^expected c_int instead of int$"):
        ct.POINTER(ct.c_int)(5)


def test_pointer_constructed_from_instance(ct):
    x = ct.c_int(3)
    p = ct.POINTER(ct.c_int)(x)
    assert p.contents.value == 3
    assert ct.addressof(p.contents) == ct.addressof(x)


def test_null_pointer(ct):
    p = ct.POINTER(ct.c_int)()
    assert bool(p) is False
    with pytest.raises(ValueError, match="^NULL pointer access$"):
        p.contents  # noqa: B018
    with pytest.raises(ValueError, match="^NULL pointer access$"):
        p[0]  # noqa: B018
    assert bool(ct.pointer(ct.c_int(0))) is True  # the pointer is not NULL, the value is


def test_pointer_indexing(ct):
    arr = (ct.c_int * 4)(10, 20, 30, 40)
    p = ct.cast(arr, ct.POINTER(ct.c_int))
    assert [p[i] for i in range(4)] == [10, 20, 30, 40]
    assert p[1:3] == [20, 30]
    p[2] = 33
    assert arr[2] == 33


def test_array_indexing_keys(ct):
    """Every kind of key through an array's subscript: ints (negative too), bools,
    `__index__` objects, slices, and the errors for the rest."""

    class Idx:
        def __index__(self):
            return 2

    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    arr = (ct.c_int * 4)(10, 20, 30, 40)
    assert (arr[0], arr[3], arr[-1], arr[-4]) == (10, 40, 40, 10)
    assert (arr[True], arr[Idx()]) == (20, 30)
    assert arr[1:3] == [20, 30]
    assert arr[::-2] == [40, 20]
    for bad in (4, -5):
        with pytest.raises(IndexError, match="invalid index"):
            arr[bad]
    with pytest.raises(TypeError):
        arr["1"]
    chars = ct.create_string_buffer(b"ab")
    assert (chars[0], chars[1:2]) == (b"a", b"b")
    points = (Point * 2)(Point(1, 2), Point(3, 4))
    view = points[1]
    view.x = 30
    assert points[1].x == 30 and view._b_base_ is points

    class Doubling(ct.c_int * 2):
        def __getitem__(self, i):
            return 2 * super().__getitem__(i)

    d = Doubling(5, 6)
    assert (d[0], d[1]) == (10, 12)


# ---- cast -------------------------------------------------------------------------------------


def test_cast_char_p_to_void_p(ct):
    s = ct.c_char_p(b"hi")
    v = ct.cast(s, ct.c_void_p)
    assert type(v) is ct.c_void_p
    assert type(v.value) is int
    assert ct.string_at(v.value) == b"hi"
    assert repr(s) == f"c_char_p({v.value})"


def test_cast_address_to_char_p(ct):
    buf = ct.create_string_buffer(b"abc")
    p = ct.cast(ct.addressof(buf), ct.c_char_p)
    assert p.value == b"abc"
    assert ct.cast(buf, ct.c_void_p).value == ct.addressof(buf)
    assert ct.cast(b"abc", ct.c_char_p).value == b"abc"


def test_cast_null(ct):
    assert ct.cast(0, ct.c_char_p).value is None
    assert ct.cast(None, ct.c_void_p).value is None
    null = ct.cast(None, ct.POINTER(ct.c_int))
    assert type(null) is ct.POINTER(ct.c_int)
    assert not null


def test_cast_between_pointer_types(ct):
    x = ct.c_int(0x01020304)
    p = ct.cast(ct.pointer(x), ct.POINTER(ct.c_ubyte))
    assert [p[i] for i in range(4)] == [4, 3, 2, 1]
    v = ct.cast(ct.pointer(x), ct.c_void_p)
    assert v.value == ct.addressof(x)
    back = ct.cast(v, ct.POINTER(ct.c_int))
    assert back.contents.value == 0x01020304


def test_cast_keeps_the_source_alive(ct):
    buf = ct.create_string_buffer(b"abc")
    ref = weakref.ref(buf)
    key = id(buf)
    p = ct.cast(buf, ct.POINTER(ct.c_char))
    assert p._objects[key] is buf
    del buf
    gc.collect()
    assert ref() is not None
    assert p[0] == b"a"


def test_cast_of_c_char_p_shares_its_objects(ct):
    s = ct.c_char_p(b"hello")
    v = ct.cast(s, ct.c_void_p)
    # the source's _objects (the bytes) are shared, not wrapped in a dict
    assert v._objects == b"hello"


def test_cast_of_an_address_keeps_nothing(ct):
    buf = ct.create_string_buffer(b"abc")
    assert ct.cast(ct.addressof(buf), ct.c_char_p)._objects is None


def test_cast_errors(ct):
    with pytest.raises(TypeError, match=r"^cast\(\) argument 2 must be a pointer type, not c_int$"):
        ct.cast(1, ct.c_int)
    # 3.13 names only ctypes types
    raises_like_stdlib(ct, lambda m: m.cast(1, int))
    # cast is itself a foreign function with argtypes, so a bad source is an ArgumentError
    # ("wrong type" up to 3.12; 3.13 names the type)
    error = raises_like_stdlib(ct, lambda m: m.cast(m.c_int(1), m.c_void_p))
    assert type(error) is ct.ArgumentError
    raises_like_stdlib(ct, lambda m: m.cast(1.5, m.c_void_p))


# ---- sizeof / alignment -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, size, align",
    [
        (lambda ct: ct.c_int, 4, 4),
        (lambda ct: ct.c_int(1), 4, 4),
        (lambda ct: ct.c_int * 3, 12, 4),
        (lambda ct: (ct.c_int * 3)(), 12, 4),
        (lambda ct: ct.c_int * 0, 0, 4),
        (lambda ct: ct.c_longdouble * 2, 32, 16),
        (lambda ct: ct.POINTER(ct.c_char), 8, 8),
        (lambda ct: ct.pointer(ct.c_int(1)), 8, 8),
        (lambda ct: ct.create_string_buffer(7), 7, 1),
        (lambda ct: ct.c_double(1), 8, 8),
    ],
    ids=["c_int", "c_int()", "c_int*3", "(c_int*3)()", "c_int*0", "c_longdouble*2",
         "LP_c_char", "pointer()", "string_buffer", "c_double()"],
)  # fmt: skip
def test_sizeof_and_alignment(ct, make, size, align):
    obj = make(ct)
    assert ct.sizeof(obj) == size
    assert ct.alignment(obj) == align


@pytest.mark.parametrize("arg", [1, int, "x", None], ids=repr)
def test_sizeof_errors(ct, arg):
    with pytest.raises(TypeError, match="^this type has no size$"):
        ct.sizeof(arg)
    with pytest.raises(TypeError, match="^no alignment info$"):
        ct.alignment(arg)


# ---- arrays (as far as the helpers need them) ----------------------------------------------------


def test_array_type_is_cached(ct):
    assert (ct.c_int * 3) is (ct.c_int * 3)
    assert (ct.c_char * 4).__name__ == "c_char_Array_4"
    assert (ct.c_int * 4)._length_ == 4


# ---- module globals and library data ----------------------------------------------------------


def test_in_dll(ct, lib):
    counter = ct.c_int.in_dll(lib, "ft_global_counter")
    assert counter._b_needsfree_ == 0  # it does not own the memory
    before = counter.value
    assert lib.increment_global_counter() == before + 1
    assert counter.value == before + 1
    counter.value = before
    assert lib.increment_global_counter() == before + 1  # C sees the write
    counter.value = before
    assert ct.c_double.in_dll(lib, "ft_global_double").value == 2.5
    assert ct.c_char_p.in_dll(lib, "ft_global_string").value == b"hello from C"


def test_in_dll_same_memory_as_c_pointer(ct, cfunc, lib):
    counter = ct.c_int.in_dll(lib, "ft_global_counter")
    p = cfunc("get_global_counter_ptr", ct.POINTER(ct.c_int))()
    assert ct.addressof(counter) == ct.addressof(p.contents)
    assert ct.c_int.in_dll(lib, "ft_global_counter") is not counter


def test_in_dll_missing(ct, fixture_path, lib):
    with pytest.raises(ValueError) as info:
        ct.c_int.in_dll(lib, "no_such_variable")
    assert str(info.value) == f"{fixture_path}: undefined symbol: no_such_variable"


def test_static_int_through_pointer(ct, cfunc):
    p = cfunc("get_static_int_ptr", ct.POINTER(ct.c_int))()
    value = ct.c_int.from_address(ct.addressof(p.contents))
    assert value.value == 1234


@pytest.mark.parametrize(("attr", "error"), [("value", TypeError), ("raw", AttributeError)])
def test_string_buffer_attributes_cannot_be_deleted(ct, attr, error):
    buf = ct.create_string_buffer(b"ab")
    # 3.14 names the attribute: "attribute 'raw' of 'c_char_Array_3' objects cannot be deleted"
    assert (
        type(raises_like_stdlib(ct, lambda m: delattr(m.create_string_buffer(b"ab"), attr)))
        is error
    )
    with pytest.raises(error):
        delattr(buf, attr)
    assert buf.value == b"ab"


def test_string_buffer_attributes_on_the_class(ct):
    buf = ct.create_string_buffer(4)
    assert "value" in type(buf).__dict__ and "raw" in type(buf).__dict__
    assert not hasattr(ct.c_int * 4, "value")
    wide = ct.create_unicode_buffer(3)
    assert "value" in type(wide).__dict__ and "raw" not in type(wide).__dict__
