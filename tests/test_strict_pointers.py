"""Strict mode's provenance-checked pointers (ferrotype only), and ctypes' behaviour outside it.

A pointer made from an object (``pointer``, ``POINTER(T)(x)``, ``p.contents = x``, ``cast`` of an
instance, an array stored into a pointer, ``byref``, ``from_buffer`` instances) knows the memory
it came from through the objects it keeps alive. In strict mode, indexing, slicing and
``.contents`` that leave that memory raise ``IndexError``/``ValueError``, ``string_at``,
``wstring_at``, ``memmove`` and ``memset`` past its end ``ValueError``, and reading a pointer or a
``py_object`` from memory typed otherwise ``TypeError``. A pointer from C, an int or
``from_address`` stays unchecked. Outside strict mode everything is ctypes' (the ``ct`` tests).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture(autouse=True)
def _strict_restored(ferrotype):
    """No test may leave strict mode on for the rest of the suite."""
    before = ferrotype.is_strict()
    yield
    ferrotype.strict(before)


def run_strict(code: str) -> subprocess.CompletedProcess:
    """Runs ``code`` with ferrotype imported as ``C`` in strict mode, in a child process: a missing
    check would crash the interpreter, which must not take the test run with it."""
    prog = "import ferrotype as C\nfrom ferrotype import *\n" + textwrap.dedent(code)
    env = dict(os.environ, FERROTYPE_STRICT="1")
    return subprocess.run(
        [sys.executable, "-c", prog], env=env, capture_output=True, text=True, timeout=60
    )


# ---- the examples, and the other ways out of an object -----------------------------

RAISING = {
    "slice-past-the-object": ("pointer(c_int(1))[0:10**6]", "IndexError"),
    "negative-index-store": ("p = pointer(c_int(1)); p[-10**6] = 5", "IndexError"),
    "index-past-the-object": ("pointer(c_int(1))[1]", "IndexError"),
    "negative-index-read": ("pointer(c_int(1))[-1]", "IndexError"),
    "string_at-past-the-buffer": ("string_at(create_string_buffer(8), 9)", "ValueError"),
    "string_at-unterminated": ("string_at((c_char * 4)(*b'abcd'))", "ValueError"),
    "wstring_at-past-the-buffer": ("wstring_at(create_unicode_buffer(3), 4)", "ValueError"),
    "py_object-from-c_char_p": ("POINTER(py_object)(c_char_p(b'abc'))[0]", "TypeError"),
    "py_object-from-int-array": (
        "cast((c_int * 4)(1, 2, 3, 4), POINTER(py_object))[0]",
        "TypeError",
    ),
    "pointer-from-int-array": (
        "cast((c_long * 2)(1, 2), POINTER(POINTER(c_int)))[0]",
        "TypeError",
    ),
    "c_char_p-from-int-array": ("cast((c_long * 2)(1, 2), POINTER(c_char_p))[0]", "TypeError"),
    "py_object-slice-from-ints": (
        "cast((c_long * 2)(1, 2), POINTER(py_object))[0:2]",
        "TypeError",
    ),
    "struct-with-py_object-over-ints": (
        """
        class S(Structure):
            _fields_ = [("n", c_long), ("o", py_object)]
        cast((c_long * 2)(1, 2), POINTER(S)).contents
        """,
        "TypeError",
    ),
    "cast-index-past-the-array": ("cast((c_int * 4)(), POINTER(c_int))[4]", "IndexError"),
    "cast-slice-past-the-array": ("cast((c_int * 4)(), POINTER(c_int))[2:6]", "IndexError"),
    "contents-larger-than-the-object": (
        "cast((c_char * 2)(), POINTER(c_int)).contents",
        "ValueError",
    ),
    "POINTER-of-array-past-it": ("POINTER(c_int)((c_int * 2)())[2]", "IndexError"),
    "contents-assigned": (
        "p = POINTER(c_int)((c_int * 4)()); p.contents = c_int(2); p[1]",
        "IndexError",
    ),
    "array-stored-in-pointer-field": (
        """
        class Q(Structure):
            _fields_ = [("p", POINTER(c_int))]
        q = Q(); q.p = (c_int * 4)(); q.p[4]
        """,
        "IndexError",
    ),
    "from_buffer-instance": (
        "pointer((c_int * 2).from_buffer(bytearray(8)))[1]",
        "IndexError",
    ),
    "byref-past-the-object": ("string_at(byref((c_int * 4)(), 12), 5)", "ValueError"),
    "byref-offset-outside": ("string_at(byref((c_int * 4)(), 100), 1)", "ValueError"),
    "memmove-past-the-destination": (
        "memmove(create_string_buffer(4), create_string_buffer(16), 16)",
        "ValueError",
    ),
    "memmove-past-the-source": (
        "memmove(create_string_buffer(16), create_string_buffer(4), 16)",
        "ValueError",
    ),
    "memset-past-the-object": ("memset((c_int * 2)(), 0, 9)", "ValueError"),
    "memset-through-a-pointer": ("memset(pointer(c_int(1)), 0, 5)", "ValueError"),
}


@pytest.mark.parametrize("code, exc", RAISING.values(), ids=RAISING.keys())
def test_strict_mode_refuses(ferrotype, code, exc):
    r = run_strict(f"""
        try:
{textwrap.indent(textwrap.dedent(code), " " * 12)}
        except {exc} as e:
            print("raised:", e)
        else:
            print("no error")
    """)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout.startswith("raised:"), r.stdout


def test_messages(ferrotype):
    C = ferrotype
    with C.strict():
        with pytest.raises(
            IndexError, match=r"^pointer index out of range of the object it points into$"
        ):
            C.pointer(C.c_int(1))[0 : 10**6]
        with pytest.raises(
            ValueError,
            match=r"^string_at: 9 bytes from the address run past the object it points into "
            r"\(8 bytes left\)$",
        ):
            C.string_at(C.create_string_buffer(8), 9)
        with pytest.raises(
            TypeError,
            match=r"^cannot read a py_object from memory written as c_char_p \(at byte 0 of it\)$",
        ):
            C.POINTER(C.py_object)(C.c_char_p(b"abc"))[0]
        with pytest.raises(
            TypeError, match=r"^cannot read a pointer from memory written as c_long_Array_2"
        ):
            C.cast((C.c_long * 2)(), C.POINTER(C.POINTER(C.c_int)))[1]


# ---- what strict mode lets through ---------------------------------------------------------


def _allowed(C):
    """Reads and writes inside the object, and pointers and py_objects where the memory holds
    them: the same results with and without strict mode."""

    class S(C.Structure):
        _fields_ = [("n", C.c_int), ("o", C.py_object), ("p", C.POINTER(C.c_int))]

    class Base(C.Structure):
        _fields_ = [("o", C.py_object)]

    class Derived(Base):
        _fields_ = [("s", S * 2)]

    x = C.c_int(7)
    arr = (C.c_int * 4)(1, 2, 3, 4)
    s = S(3, "hello", C.pointer(x))
    d = Derived("base", (S(1, "a"), S(2, "b")))
    out = []
    p = C.pointer(C.c_int(5))
    out.append(p[0])
    p[0] = 6
    out.append(p.contents.value)
    out.append(p[0:1])
    q = C.cast(arr, C.POINTER(C.c_int))
    out.append((q[3], q[0:4], q[3:-1:-1], q[0:4:3], q[2:2]))
    q[3] = 40
    out.append(list(arr))
    out.append(C.POINTER(C.c_int)(arr)[3])
    ps = C.pointer(s)
    out.append((ps.contents.o, ps[0].n, ps.contents.p[0]))
    # A py_object or pointer read where the structure holds one.
    po = C.cast(ps, C.POINTER(C.py_object))
    out.append(po[1])
    pp = C.cast(C.byref(s, S.p.offset), C.POINTER(C.POINTER(C.c_int)))
    out.append(pp[0][0])
    # Inherited fields and arrays of structures.
    pd = C.cast(C.pointer(d), C.POINTER(C.py_object))
    out.append((pd[0], pd[2], pd[5]))
    out.append(C.pointer(d).contents.s[1].o)
    objs = (C.py_object * 3)(1, "two", 3.0)
    out.append(C.cast(objs, C.POINTER(C.py_object))[0:3])
    strs = (C.c_char_p * 2)(b"ab", b"cd")
    out.append(C.cast(strs, C.POINTER(C.c_char_p))[1])
    out.append(C.cast(strs, C.POINTER(C.POINTER(C.c_char)))[0][1])
    out.append(C.cast(arr, C.POINTER(C.c_void_p))[0] is not None)  # c_void_p: an int, unchecked
    buf = C.create_string_buffer(b"abcd", 8)
    out.append((C.string_at(buf, 8), C.string_at(buf), C.string_at(C.byref(buf, 2), 6)))
    out.append(C.string_at(C.byref(buf, 8), 0))
    w = C.create_unicode_buffer("hi", 4)
    out.append((C.wstring_at(w), C.wstring_at(w, 4)))
    dst = C.create_string_buffer(8)
    C.memmove(dst, buf, 8)
    C.memset(C.byref(dst, 4), ord("z"), 4)
    out.append(dst.raw)
    mb = (C.c_int * 2).from_buffer(bytearray(b"\x01\0\0\0\x02\0\0\0"))
    out.append(C.pointer(mb)[0][1])
    out.append(C.cast(mb, C.POINTER(C.c_int))[1])
    return out


def test_in_bounds_accesses_work_in_strict_mode(ferrotype):
    lax = _allowed(ferrotype)
    with ferrotype.strict():
        strict = _allowed(ferrotype)
    assert strict == lax


def test_outside_strict_mode_as_ctypes(ct):
    assert _allowed(ct) == _allowed(ctypes)


def test_outside_strict_mode_nothing_is_checked(ct):
    """Past the object, but inside memory that exists: ctypes reads it, and so does ferrotype
    outside strict mode."""
    m = ((ct.c_int * 2) * 2)((1, 2), (3, 4))
    p = ct.cast(m[0], ct.POINTER(ct.c_int))
    assert p[2] == 3
    assert p[-1 + 3] == 3
    assert p[0:4] == [1, 2, 3, 4]
    assert ct.string_at(ct.byref(m[0], 8), 4) == b"\x03\0\0\0"
    objs = (ct.py_object * 1)("x")
    # A pointer read from py_object memory: only strict mode refuses it.
    assert ct.cast(objs, ct.POINTER(ct.c_void_p))[0] == id("x")


def test_strict_mode_refuses_the_same_past_the_view(ferrotype):
    C = ferrotype
    m = ((C.c_int * 2) * 2)((1, 2), (3, 4))
    p = C.cast(m[0], C.POINTER(C.c_int))
    with C.strict():
        assert p[1] == 2
        with pytest.raises(IndexError):
            p[2]
        with pytest.raises(ValueError):
            C.string_at(C.byref(m[0], 8), 4)


def test_pointers_made_before_strict_mode_are_checked(ferrotype):
    p = ferrotype.pointer(ferrotype.c_int(1))
    with ferrotype.strict(), pytest.raises(IndexError):
        p[1]


# ---- what stays unchecked ------------------------------------------------------------------


def test_raw_addresses_stay_unchecked(ferrotype):
    C = ferrotype
    m = (C.c_int * 8)(*range(8))
    small = (C.c_int * 2).from_address(C.addressof(m))
    with C.strict():
        # A pointer made from the 2-element object is checked against it...
        with pytest.raises(IndexError):
            C.cast(small, C.POINTER(C.c_int))[5]
        # ...one made from an int address is not (ctypes' trust), nor from_address.
        assert C.cast(C.addressof(small), C.POINTER(C.c_int))[5] == 5
        holder = C.c_void_p(C.addressof(small))
        assert C.POINTER(C.c_int).from_address(C.addressof(holder))[5] == 5
        assert C.string_at(C.addressof(small), 12)[8:] == b"\x02\0\0\0"


def test_pointers_from_c_stay_unchecked(ferrotype):
    C = ferrotype
    libc = C.CDLL(None)
    libc.memmove.restype = C.POINTER(C.c_int)
    libc.memmove.argtypes = (C.c_void_p, C.c_void_p, C.c_size_t)
    m = (C.c_int * 8)(*range(8))
    small = (C.c_int * 2).from_buffer(m)
    with C.strict():
        r = libc.memmove(small, small, 0)  # returns its first argument: a pointer from C
        assert r[5] == 5

    class H(C.Structure):
        _fields_ = [("p", C.POINTER(C.c_int))]

    h = H.from_buffer(C.c_void_p(C.addressof(m)))
    with C.strict():
        assert h.p[7] == 7  # a field read from memory C could have written


# ---- property: strict reads inside agree with lax reads; outside they raise ----------------

ELEMS = ["c_byte", "c_short", "c_int", "c_long", "c_double", "c_char"]


@settings(max_examples=150, deadline=None)
@given(
    elem=st.sampled_from(ELEMS),
    n=st.integers(1, 12),
    make=st.sampled_from(["cast", "POINTER", "contents", "byref-cast"]),
    index=st.integers(-30, 30),
    start=st.integers(-30, 30),
    stop=st.integers(-30, 30),
    step=st.sampled_from([1, 2, 3, -1, -2]),
)
def test_hypothesis_pointer_indices(ferrotype, elem, n, make, index, start, stop, step):
    C = ferrotype
    E = getattr(C, elem)
    P = C.POINTER(E)
    arr = (E * n)()
    raw = bytes((7 * k + 1) % 256 for k in range(C.sizeof(arr)))
    C.memmove(arr, raw, len(raw))
    if make == "cast":
        p = C.cast(arr, P)
    elif make == "POINTER":
        p = P(arr)
    elif make == "contents":
        p = P()
        p.contents = arr
    else:
        p = C.cast(C.byref(arr), P)

    inside = 0 <= index < n
    if inside:
        lax = p[index]
    with C.strict():
        if inside:
            assert p[index] == lax
            p[index] = lax
        else:
            with pytest.raises(IndexError):
                p[index]
            with pytest.raises(IndexError):
                p[index] = arr[0]
        touched = list(range(start, stop, step))
        if all(0 <= k < n for k in touched):
            got = p[start:stop:step]
            C.strict(False)
            assert got == p[start:stop:step]
        else:
            with pytest.raises(IndexError):
                p[start:stop:step]


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 40), off=st.integers(-8, 48), count=st.integers(0, 48))
def test_hypothesis_raw_functions(ferrotype, size, off, count):
    C = ferrotype
    buf = C.create_string_buffer(bytes(range(1, size + 1)), size)
    other = C.create_string_buffer(48)
    inside = 0 <= off and off + count <= size
    with C.strict():
        if inside:
            got = C.string_at(C.byref(buf, off), count)
            assert got == buf.raw[off : off + count]
            C.memmove(other, C.byref(buf, off), count)
            assert other.raw[:count] == got
            C.memset(C.byref(buf, off), 0, count)
            assert buf.raw[off : off + count] == bytes(count)
        else:
            with pytest.raises(ValueError):
                C.string_at(C.byref(buf, off), count)
            with pytest.raises(ValueError):
                C.memmove(other, C.byref(buf, off), count)
            with pytest.raises(ValueError):
                C.memset(C.byref(buf, off), 0, count)
