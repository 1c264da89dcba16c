"""`_objects`, the record of what an instance keeps alive, as ctypes makes it: the same
shape (None, one object, or a dict keyed by index strings, shared between instances where
ctypes shares it) after every kind of construction and assignment, on every version.

`shape()` turns `_objects` into a comparable form: a dict keeps its keys, with integer keys
(`cast` records its source under `id(source)`) named by the object whose id they are;
a value that is one of the named objects, or that *is* the `_objects` of a named instance,
is written `<name>`; any other instance or object is written by its type's name; bytes, str,
None and ints stay as they are. Each case below is run against the stdlib and ferrotype.

The table (every case passes with the stdlib of 3.11 to 3.15, which agree) is followed by a
Hypothesis test that builds random nestings of structures, unions, arrays and pointers,
makes random assignments into them with both modules, and compares the `_objects` of every
instance made, shared dicts included.

Where ctypes' bookkeeping would let an object die while memory still refers to it
(`pointer(x)[1] = v` replaces the record of `x`; a `cast` of a field or element records
nothing; a simple `from_buffer` instance forgets the buffer on its next value), ferrotype
records the same but also keeps the object, out of sight: `test_*_still_kept` below.
"""

from __future__ import annotations

import gc
import weakref

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# ---- comparable form ----------------------------------------------------------------------------


def _type_name(o):
    name = type(o).__name__
    return {"PyCapsule": "capsule"}.get(name, name)


def shape(o, names=None, depth=0):
    names = names or {}
    if depth > 8:
        return "..."
    for n, v in names.items():
        if v is o:
            return f"<{n}>"
        if depth and isinstance(o, dict) and getattr(v, "_objects", None) is o:
            return f"<{n}._objects>"
    if isinstance(o, dict):
        out = {}
        for k, v in o.items():
            if isinstance(k, int):
                k = next((f"id({n})" for n, x in names.items() if id(x) == k), "id(?)")
            out[k] = shape(v, names, depth + 1)
        return out
    if isinstance(o, tuple):
        return tuple(shape(x, names, depth + 1) for x in o)
    if isinstance(o, (bytes, str, int, type(None))):
        return o
    return _type_name(o)


# ---- the table ----------------------------------------------------------------------------------

CASES = []


def case(expected):
    def register(fn):
        CASES.append(pytest.param(fn, expected, id=fn.__name__))
        return fn

    return register


def types(ct):
    class X(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_int)]

    class P(ct.Structure):
        _fields_ = [("a", ct.c_char_p), ("b", ct.c_char_p)]

    class Y(ct.Structure):
        _fields_ = [
            ("x", X),
            ("y", X),
            ("s", ct.c_char_p),
            ("p", ct.POINTER(X)),
            ("arr", ct.c_int * 2),
            ("pc", ct.POINTER(ct.c_int)),
            ("w", ct.c_wchar_p),
            ("v", ct.c_void_p),
            ("o", ct.py_object),
            ("f", ct.CFUNCTYPE(ct.c_int)),
        ]

    class E(ct.Structure):
        _fields_ = []

    return X, P, Y, E


# simple instances


@case(None)
def c_int_value(ct):
    x = ct.c_int(1)
    x.value = 42
    return x, {}


@case("<b>")
def c_char_p_bytes(ct):
    b = b"spam"
    return ct.c_char_p(b), {"b": b}


@case(b"x")
def c_char_p_value_then_none(ct):
    # storing None or an address keeps nothing new; the old record stays
    x = ct.c_char_p()
    x.value = b"x"
    x.value = None
    x.value = 5
    return x, {}


@case("capsule")
def c_wchar_p_str(ct):
    return ct.c_wchar_p("hi"), {}


@case(None)
def c_void_p_int(ct):
    return ct.c_void_p(5), {}


@case("<o>")
def py_object_value(ct):
    o = object()
    return ct.py_object(o), {"o": o}


@case(None)
def py_object_empty(ct):
    return ct.py_object(), {}


# structures and unions


@case(None)
def struct_of_ints(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.x.a = 1
    y.arr[1] = 2
    y.v = 5
    return y, {}


@case({"0": {}})
def struct_field_assigned_structure(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.x = X()
    return y, {}


@case({"0": {}})
def struct_field_assigned_tuple(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.x = (1, 2)
    return y, {}


@case({})
def source_structure_gets_its_dict(ct):
    # assigning an instance makes its (empty) record, shared with the destination
    X, P, Y, E = types(ct)
    x = X()
    Y().x = x
    return x, {}


@case({"0": "<pp._objects>"})
def nested_record_is_shared(ct):
    X, P, Y, E = types(ct)

    class Q(ct.Structure):
        _fields_ = [("p", P)]

    q, pp = Q(), P()
    pp.a = b"aa"
    q.p = pp
    pp.b = b"bb"  # seen through q's record too
    assert q._objects["0"] is pp._objects
    assert q._objects["0"] == {"0": b"aa", "1": b"bb"}
    return q, {"pp": pp}


@case({"0": {"0": b"aa"}, "0:0": b"cc"})
def nested_field_through_view(ct):
    X, P, Y, E = types(ct)

    class Q(ct.Structure):
        _fields_ = [("p", P)]

    q, pp = Q(), P()
    pp.a = b"aa"
    q.p = pp
    inner = q.p
    inner.a = b"cc"
    assert inner._objects is None and inner._b_base_ is q
    assert (inner._b_needsfree_, q._b_needsfree_) == (0, 1)
    return q, {}


@case({"2": b"s"})
def struct_char_p_then_none(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.s = b"s"
    y.s = None
    return y, {}


@case({"2": b"q"})
def struct_char_p_from_instance(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.s = ct.c_char_p(b"q")
    return y, {}


@case({"3": {"1": "<xx>", "0": "<xx._objects>"}})
def struct_pointer_field(ct):
    X, P, Y, E = types(ct)
    y, xx = Y(), X()
    y.p = ct.pointer(xx)
    y.p = None  # NULL; the record stays
    return y, {"xx": xx}


@case({"3": {}})
def struct_null_pointer_instance(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.p = ct.POINTER(X)()
    return y, {}


@case({"5": ("<arr._objects>", "<arr>")})
def struct_pointer_field_assigned_array(ct):
    X, P, Y, E = types(ct)
    y, arr = Y(), (ct.c_int * 2)(1, 2)
    y.pc = arr
    return y, {"arr": arr}


@case({"4": {}})
def struct_array_field_assigned(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.arr = (ct.c_int * 2)()
    y.arr = (1, 2)
    return y, {}


@case({"6": "capsule"})
def struct_wchar_p_field(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.w = "w"
    return y, {}


@case({"8": "<o>"})
def struct_py_object_field(ct):
    X, P, Y, E = types(ct)
    y, o = Y(), object()
    y.o = o
    y.o = ct.py_object(o)
    return y, {"o": o}


@case({"9": {"0": "CThunkObject"}})
def struct_callback_field(ct):
    X, P, Y, E = types(ct)
    y = Y()
    cb = ct.CFUNCTYPE(ct.c_int)(lambda: 0)
    y.f = cb
    assert y._objects["9"] is cb._objects
    return y, {}


@case({"9": {}})
def struct_callback_field_from_address(ct):
    X, P, Y, E = types(ct)
    y = Y()
    y.f = ct.CFUNCTYPE(ct.c_int)(5)
    return y, {}


@case({"0": {}, "1": {}, "2": b"k"})
def struct_init_positional_and_keywords(ct):
    X, P, Y, E = types(ct)
    return Y(X(), (1, 2), s=b"k"), {}


@case(None)
def empty_structure_and_empty_array_keep_nothing(ct):
    X, P, Y, E = types(ct)

    class W(ct.Structure):
        _fields_ = [("e", E), ("z", ct.c_int * 0)]

    w = W()
    w.e = E()
    w.z = (ct.c_int * 0)()
    return w, {}


@case({"0": {}})
def subclass_without_fields_has_a_dict(ct):
    X, P, Y, E = types(ct)

    class Sub(X):
        pass

    class W(ct.Structure):
        _fields_ = [("s", Sub)]

    w = W()
    w.s = Sub()
    return w, {}


@case({"0": b"u", "1": {}})
def union_fields(ct):
    X, P, Y, E = types(ct)

    class U(ct.Union):
        _fields_ = [("a", ct.c_char_p), ("b", X)]

    u = U()
    u.a = b"u"
    u.b = X()
    return u, {}


@case({"1": b"anon", "0": {}})
def anonymous_fields(ct):
    X, P, Y, E = types(ct)

    class Inner(ct.Structure):
        _fields_ = [("x", X), ("cp", ct.c_char_p)]

    class AN(ct.Structure):
        _anonymous_ = ("o",)
        _fields_ = [("o", Inner)]

    an = AN()
    an.cp = b"anon"
    an.x = X()
    return an, {}


@case({"0:2:1:1": b"deep"})
def deep_key_path(ct):
    class PS(ct.Structure):
        _fields_ = [("s", ct.c_char_p)]

    class T2(ct.Structure):
        _fields_ = [("z", ct.c_int), ("inner", PS * 3)]

    class T3(ct.Structure):
        _fields_ = [("t", T2), ("u", T2)]

    t3 = T3()
    t3.u.inner[2].s = b"deep"
    return t3, {}


@case({"0": "<w2._objects>"})
def field_assigned_from_another_instances_field(ct):
    X, P, Y, E = types(ct)
    w, w2 = Y(), Y()
    w.x = w2.y
    assert w2._objects == {}
    return w, {"w2": w2}


# arrays


@case(None)
def int_array(ct):
    a = (ct.c_int * 3)()
    a[0] = 1
    return a, {}


@case({"0": b"x", "1": b"y", "2": b"z"})
def char_p_array_items_and_slices(ct):
    a = (ct.c_char_p * 3)(b"a", b"b")
    a[2] = b"z"
    a[0:2] = [b"x", b"y"]
    return a, {}


@case({"0": {}, "1": {}})
def structure_array(ct):
    X, P, Y, E = types(ct)
    xa = (X * 2)(X(), (1, 2))
    xa[0:2] = [X(), X()]
    return xa, {}


@case({"0:1": b"n", "0": {"0": b"q"}})
def nested_arrays(ct):
    na = ((ct.c_char_p * 2) * 2)()
    na[1][0] = b"n"
    assert na[1]._objects is None
    na[0] = (ct.c_char_p * 2)(b"q")
    return na, {}


@case({"0:11": b"k", "0:3": b"kv"})
def array_of_structures_hex_keys(ct):
    class K(ct.Structure):
        _fields_ = [("s", ct.c_char_p)]

    ka = (K * 20)()
    ka[17].s = b"k"
    ka[3].s = b"kv"
    return ka, {}


@case(None)
def string_buffers(ct):
    b = ct.create_string_buffer(b"ab")
    ct.resize(b, 64)
    assert b._b_needsfree_ == 1
    return b, {}


# pointers


@case({"1": "<i>"})
def pointer_to_int(ct):
    i = ct.c_int(42)
    p = ct.pointer(i)
    assert i._objects is None
    return p, {"i": i}


@case({"1": "<x>", "0": "<x._objects>"})
def pointer_to_structure(ct):
    X, P, Y, E = types(ct)
    x = X()
    p = ct.pointer(x)
    assert x._objects == {}
    return p, {"x": x}


@case({"1": "<cs>", "0": b"zz"})
def pointer_to_char_p(ct):
    cs = ct.c_char_p(b"zz")
    return ct.pointer(cs), {"cs": cs}


@case({"1": "<x2>", "0": "<x2._objects>"})
def pointer_contents_replaced(ct):
    X, P, Y, E = types(ct)
    x1, x2 = X(), X()
    p = ct.pointer(x1)
    p.contents = x2
    return p, {"x2": x2}


@case({"1": "c_char_p", "0": b"pw"})
def pointer_item_assigned(ct):
    p = ct.POINTER(ct.c_char_p)(ct.c_char_p())
    p[0] = b"pv"
    p[0] = b"pw"
    return p, {}


@case({"1": "<pi>", "0": "<pi._objects>"})
def pointer_to_pointer(ct):
    i = ct.c_int(1)
    pi = ct.pointer(i)
    return ct.pointer(pi), {"pi": pi}


@case({"1": "<ps>", "0": "<ps._objects>", "0:0": b"via"})
def field_through_pointer_contents(ct):
    class PS(ct.Structure):
        _fields_ = [("cp", ct.c_char_p)]

    ps = PS()
    pps = ct.pointer(ps)
    pps.contents.cp = b"via"
    assert pps.contents._b_base_ is pps and ps._objects == {}
    return pps, {"ps": ps}


@case({"1": "<cb>", "0": "<cb._objects>"})
def pointer_to_callback(ct):
    cb = ct.CFUNCTYPE(None)(lambda: None)
    return ct.pointer(cb), {"cb": cb}


@case({"1": "<e>"})
def pointer_to_empty_structure(ct):
    X, P, Y, E = types(ct)
    e = E()
    return ct.pointer(e), {"e": e}


# cast, byref


@case({"id(arr)": "<arr>"})
def cast_of_array_shares_its_dict(ct):
    arr = (ct.c_int * 2)()
    p = ct.cast(arr, ct.POINTER(ct.c_int))
    assert p._objects is arr._objects
    return p, {"arr": arr}


@case({"id(buf)": "<buf>", "id(c1)": "<c1>"})
def cast_of_cast(ct):
    buf = ct.create_string_buffer(8)
    c1 = ct.cast(buf, ct.c_char_p)
    return ct.cast(c1, ct.c_void_p), {"buf": buf, "c1": c1}


@case(b"hello")
def cast_of_char_p_shares_bytes(ct):
    return ct.cast(ct.c_char_p(b"hello"), ct.c_void_p), {}


@case({"1": "<ci>", "id(p)": "<p>"})
def cast_of_pointer(ct):
    ci = ct.c_int(3)
    p = ct.pointer(ci)
    return ct.cast(p, ct.c_void_p), {"ci": ci, "p": p}


@case(None)
def cast_of_view_records_nothing(ct):
    X, P, Y, E = types(ct)
    s = Y()
    c = ct.cast(s.arr, ct.POINTER(ct.c_int))
    assert s._objects == {}
    return c, {}


@case(None)
def cast_of_int_none_and_byref(ct):
    ci = ct.c_int(3)
    assert ct.cast(5, ct.c_void_p)._objects is None
    assert ct.cast(None, ct.c_void_p)._objects is None
    r = ct.byref(ci)
    assert r._obj is ci and ci._objects is None
    return ct.cast(r, ct.c_void_p), {}


# from_buffer, from_buffer_copy, from_address


@case("memoryview")
def from_buffer_simple(ct):
    return ct.c_int.from_buffer(bytearray(8)), {}


@case({"ffffffff": "memoryview"})
def from_buffer_structure(ct):
    X, P, Y, E = types(ct)
    x = X.from_buffer(bytearray(16))
    assert (x._b_base_, x._b_needsfree_) == (None, 0)
    return x, {}


@case({"ffffffff": "memoryview", "0": b"ff"})
def from_buffer_array_then_item(ct):
    a = (ct.c_char_p * 2).from_buffer(bytearray(16), 0)
    a[0] = b"ff"
    return a, {}


@case({"ffffffff": "memoryview", "1": "c_int"})
def from_buffer_pointer_then_contents(ct):
    p = ct.POINTER(ct.c_int).from_buffer(bytearray(8))
    p.contents = ct.c_int(3)
    return p, {}


@case(None)
def from_buffer_copy_keeps_nothing(ct):
    class PS(ct.Structure):
        _fields_ = [("cp", ct.c_char_p)]

    ps = PS(b"x")
    c = PS.from_buffer_copy(ps)
    assert (c._b_base_, c._b_needsfree_) == (None, 1)
    return c, {}


@case({"0": b"fa"})
def from_address_keeps_in_itself(ct):
    X, P, Y, E = types(ct)
    pp = P()
    v = P.from_address(ct.addressof(pp))
    v.a = b"fa"
    assert (v._b_base_, v._b_needsfree_) == (None, 0)
    v._keep = pp
    return v, {}


# callbacks


@case({"0": "CThunkObject"})
def callback(ct):
    return ct.CFUNCTYPE(ct.c_int)(lambda: 0), {}


@case(None)
def function_pointer_from_address(ct):
    return ct.CFUNCTYPE(ct.c_int)(5), {}


@pytest.mark.parametrize("make, expected", CASES)
def test_objects_as_in_ctypes(ct, make, expected):
    obj, names = make(ct)
    assert shape(obj._objects, names) == expected


# ---- other observations -------------------------------------------------------------------------


def test_records_can_be_mutated_in_place(ct):
    a = (ct.c_char_p * 2)()
    a[0] = b"a"
    d = a._objects
    d["extra"] = 1
    a[1] = b"b"
    assert a._objects is d and d == {"0": b"a", "extra": 1, "1": b"b"}
    d.clear()
    assert a._objects == {}


def test_key_order_as_in_ctypes(ct):
    X = types(ct)[0]
    assert list(ct.pointer(X())._objects) == ["1", "0"]


def test_arguments_of_calls_are_not_recorded(ct, lib):
    f = lib.str_len
    f.argtypes = [ct.c_char_p]
    f.restype = ct.c_size_t
    s = ct.c_char_p(b"abc")
    assert f(s) == 3 and s._objects == b"abc"
    p = ct.pointer(ct.c_int(1))
    before = dict(p._objects)
    lib.is_null.argtypes = [ct.c_void_p]
    lib.is_null(p)
    assert p._objects == before


def test_wchar_capsule_name(ct):
    assert '"_ctypes/cfield.c pymem"' in repr(ct.c_wchar_p("x")._objects)


# ---- where ferrotype keeps more than ctypes records ---------------------------------------------


def _gone(ref):
    gc.collect()
    return ref() is None


def test_pointer_target_still_kept_after_item_one(ferrotype):
    ct = ferrotype

    class X(ct.Structure):
        _fields_ = [("a", ct.c_int)]

    arr = (X * 2)()
    r = weakref.ref(arr)
    p = ct.pointer(arr[0])
    p[1] = X(7)  # ctypes replaces its record of the target (key "1") with {}
    assert shape(p._objects) == {"1": {}, "0": {}}
    del arr
    assert not _gone(r)
    assert p[1].a == 7


def test_cast_of_view_still_kept(ferrotype):
    ct = ferrotype

    class S(ct.Structure):
        _fields_ = [("arr", ct.c_int * 2)]

    s = S()
    s.arr[1] = 9
    r = weakref.ref(s)
    c = ct.cast(s.arr, ct.POINTER(ct.c_int))
    assert c._objects is None
    del s
    assert not _gone(r)
    assert c[1] == 9


def test_cast_of_byref_still_kept(ferrotype):
    ct = ferrotype
    ci = ct.c_int(5)
    r = weakref.ref(ci)
    c = ct.cast(ct.byref(ci), ct.POINTER(ct.c_int))
    assert c._objects is None
    del ci
    assert not _gone(r)
    assert c[0] == 5


def test_simple_from_buffer_buffer_still_kept(ferrotype):
    ct = ferrotype

    class Buffer(bytearray):
        pass

    ba = Buffer(8)
    v = ct.c_char_p.from_buffer(ba)
    r = weakref.ref(ba)
    v.value = b"zz"  # replaces the record of the buffer, as in ctypes
    assert v._objects == b"zz"
    del ba
    assert not _gone(r)


def test_callback_in_structure_outlives_the_callback_object(ct):
    class F(ct.Structure):
        _fields_ = [("f", ct.CFUNCTYPE(ct.c_int, ct.c_int))]

    f = F()
    f.f = ct.CFUNCTYPE(ct.c_int, ct.c_int)(lambda n: n + 1)
    gc.collect()
    assert f.f(41) == 42


# ---- random nestings ----------------------------------------------------------------------------

LEAVES = ["c_int", "c_char_p", "c_wchar_p", "py_object", "c_void_p", "fn"]


def _desc_t():
    leaf = st.sampled_from(LEAVES).map(lambda n: ("leaf", n))

    def extend(inner):
        return st.one_of(
            st.tuples(st.just("array"), inner, st.integers(0, 3)),
            st.tuples(st.sampled_from(["struct", "union"]), st.lists(inner, max_size=3)),
            st.tuples(st.just("pointer"), inner),
        )

    return st.recursive(leaf, extend, max_leaves=6)


root_t = st.tuples(
    st.sampled_from(["struct", "union"]), st.lists(_desc_t(), min_size=1, max_size=4)
)
ops_t = st.lists(
    st.tuples(
        st.sampled_from(["set", "set", "set", "pointer", "cast", "contents"]),
        st.lists(st.integers(0, 7), min_size=1, max_size=4),
        st.integers(0, 7),
    ),
    max_size=8,
)


def _read(obj, key):
    return getattr(obj, key) if isinstance(key, str) else obj[key]


class Run:
    """One random program against one module: every object it makes is registered, so
    that two runs can be compared object by object."""

    def __init__(self, ct):
        self.ct = ct
        self.types = {}
        self.made = []

    def new(self, obj):
        self.made.append(obj)
        return obj

    def type_of(self, desc):
        key = repr(desc)
        if key in self.types:
            return self.types[key]
        ct = self.ct
        if desc[0] == "leaf":
            t = ct.CFUNCTYPE(ct.c_int) if desc[1] == "fn" else getattr(ct, desc[1])
        elif desc[0] == "array":
            t = self.type_of(desc[1]) * desc[2]
        elif desc[0] == "pointer":
            t = ct.POINTER(self.type_of(desc[1]))
        else:
            base = ct.Structure if desc[0] == "struct" else ct.Union
            t = type(
                "S",
                (base,),
                {"_fields_": [(f"f{i}", self.type_of(d)) for i, d in enumerate(desc[1])]},
            )
        self.types[key] = t
        return t

    def value(self, desc, v):
        """A value of some kind (chosen by `v`) that a location of type `desc` takes."""
        ct = self.ct
        kind = desc[0]
        if kind == "leaf":
            name = desc[1]
            if name == "c_int":
                return v
            if name in ("fn", "py_object"):
                if v % 3 == 2:
                    return None
                if name == "fn":
                    fn = ct.CFUNCTYPE(ct.c_int)
                    return self.new(fn(lambda: 0) if v % 3 == 0 else fn())
                o = self.new(object())
                return o if v % 3 == 0 else self.new(ct.py_object(o))
            if name == "c_void_p":
                return [v, None, self.new(ct.c_void_p(v))][v % 3]
            text = f"s{v}"
            raw = text.encode() if name == "c_char_p" else text
            return [self.new(raw), None, self.new(getattr(ct, name)(raw)), 0][v % 4]
        t = self.type_of(desc)
        if kind == "pointer":
            target = self.type_of(desc[1])
            pool = [o for o in self.made if type(o) is target]
            choice = v % 5
            if choice == 0:
                return None
            if choice == 1:
                return self.new(ct.pointer(self.new(target())))
            if choice == 2 and pool:
                return self.new(ct.pointer(pool[v % len(pool)]))
            if choice == 3:
                return self.new((target * 2)())
            return self.new(t())
        pool = [o for o in self.made if type(o) is t]
        if v % 3 == 0 and pool:
            return pool[v % len(pool)]
        if v % 3 == 1:
            return ()
        return self.new(t())

    def aims_at_made(self, p):
        """Whether pointer `p` points at an instance made here, large enough for its
        target (a pointer in a union may hold any other member's bits)."""
        ct = self.ct
        if not p:
            return False
        addr = ct.addressof(p.contents)
        need = ct.sizeof(type(p)._type_)
        return any(
            hasattr(o, "_b_needsfree_") and ct.addressof(o) == addr and ct.sizeof(o) >= need
            for o in self.made
            if not isinstance(o, ct._Pointer) or o is not p
        )

    def locate(self, root, desc, path):
        """Walks `path` into `root`: the instance holding the location, its key, its type."""
        cur, cdesc = root, desc
        for n, c in enumerate(path):
            if cdesc[0] in ("struct", "union"):
                if not cdesc[1]:
                    return None
                k = c % len(cdesc[1])
                fdesc = cdesc[1][k]
                key = f"f{k}"
            elif cdesc[0] == "array":
                if cdesc[2] == 0:
                    return None
                key = c % cdesc[2]
                fdesc = cdesc[1]
            else:
                return None
            last = n == len(path) - 1
            if not last and fdesc[0] in ("struct", "union", "array"):
                cur, cdesc = self.new(_read(cur, key)), fdesc
                continue
            if not last and fdesc[0] == "pointer" and fdesc[1][0] in ("struct", "union", "array"):
                p = self.new(_read(cur, key))
                if not self.aims_at_made(p):
                    return (cur, key, fdesc)
                cur, cdesc = self.new(p[0]), fdesc[1]
                continue
            return (cur, key, fdesc)
        return None

    def run(self, root_desc, ops):
        ct = self.ct
        root = self.new(self.type_of(root_desc)())
        for op, path, v in ops:
            where = self.locate(root, root_desc, path)
            if where is None:
                continue
            cur, key, fdesc = where
            try:
                if op == "set":
                    value = self.value(fdesc, v)
                    if isinstance(key, str):
                        setattr(cur, key, value)
                    else:
                        cur[key] = value
                elif op == "pointer":
                    self.new(ct.pointer(cur))
                elif op == "cast":
                    src = cur if v % 2 else root
                    if isinstance(src, ct.Array):
                        self.new(ct.cast(src, ct.c_void_p))
                    else:
                        self.new(ct.cast(self.new(ct.pointer(src)), ct.c_void_p))
                elif op == "contents" and fdesc[0] == "pointer":
                    p = _read(cur, key)
                    target = self.type_of(fdesc[1])
                    p.contents = self.new(target())
                    self.new(p)
            except Exception as e:  # noqa: BLE001 - an error is an outcome to compare
                self.new(("error", type(e).__name__))
        return self.snapshot()

    def snapshot(self):
        """Every registered instance's `_objects` in comparable form; dicts by identity
        class (the order in which each dict is first met), objects by registration index."""
        index = {id(o): i for i, o in enumerate(self.made)}
        dicts = {}

        def form(o, depth=0):
            if depth > 10:
                return "..."
            if (
                id(o) in index
                and self.made[index[id(o)]] is o
                and not isinstance(o, (bytes, str, int))
            ):
                return ("#", index[id(o)])
            if isinstance(o, dict):
                tag = dicts.setdefault(id(o), len(dicts))
                items = []
                for k, v in o.items():
                    if isinstance(k, int):
                        k = ("id", index.get(k, "?"))
                    items.append((k, form(v, depth + 1)))
                return ("dict", tag, sorted(items, key=repr))
            if isinstance(o, tuple):
                return tuple(form(x, depth + 1) for x in o)
            if isinstance(o, (bytes, str, int, type(None))):
                return o
            return _type_name(o)

        out = []
        for o in self.made:
            if isinstance(o, tuple):
                out.append(o)
            elif hasattr(o, "_objects"):
                out.append(form(o._objects))
            else:
                out.append(_type_name(o))
        return out


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(root=root_t, ops=ops_t)
def test_random_nestings_record_as_ctypes(ferrotype, root, ops):
    import ctypes

    theirs = Run(ctypes).run(root, ops)
    ours = Run(ferrotype).run(root, ops)
    assert ours == theirs
