"""Making structure and union classes: the metaclasses' ``__new__``/``__init__`` (native in
ferrotype, as ctypes' C metaclasses), the class attributes the layout reads (plain values,
inherited ones, descriptors, metaclass attributes), the module a class made by a direct
metaclass call belongs to, and ``_fields_`` set afterwards. Each outcome is ctypes'."""

import ctypes
import warnings

import ferrotype
import pytest


def outcome(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return "ok", fn(*args)
        except Exception as e:
            return type(e).__name__, str(e)


def both(fn):
    """fn(module) for ctypes and ferrotype, which must agree."""
    ours, theirs = outcome(fn, ferrotype), outcome(fn, ctypes)
    assert ours == theirs
    return ours


@pytest.mark.parametrize("base", ["Structure", "Union"])
def test_made_by_a_direct_metaclass_call(ct, base):
    B = getattr(ct, base)
    cls = type(B)("X", (B,), {"_fields_": [("a", ct.c_int), ("b", ct.c_short)]})
    assert cls.__module__ == __name__
    assert type(cls) is type(B)
    assert ct.sizeof(cls) == (8 if base == "Structure" else 4)
    assert cls.a.offset == 0 and cls.b.offset == (4 if base == "Structure" else 0)
    obj = cls(1)
    assert obj.a == 1


def test_made_by_a_metaclass_subclass(ct):
    seen = []

    class Meta(type(ct.Structure)):
        def __new__(mcls, name, bases, ns, **kw):
            cls = super().__new__(mcls, name, bases, ns, **kw)
            seen.append(name)
            return cls

        def __init__(cls, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(ct.sizeof(cls))

    class S(ct.Structure, metaclass=Meta):
        _fields_ = [("a", ct.c_int), ("b", ct.c_double)]

    assert seen == ["S", 16]
    assert S.__module__ == __name__
    assert S(1, 2.5).b == 2.5

    class T(S):
        _fields_ = [("c", ct.c_char)]

    assert type(T) is Meta and ct.sizeof(T) == 24 and T.c.offset == 16


def test_metaclass_setattr_sees_fields(ct):
    # A metaclass with its own __setattr__ gets `_fields_` from the class body through it.
    seen = []

    class Meta(type(ct.Structure)):
        def __setattr__(cls, name, value):
            seen.append(name)
            if name == "_fields_":
                value = [(n, ct.c_int) for n, _ in value]
            super().__setattr__(name, value)

    class S(ct.Structure, metaclass=Meta):
        _fields_ = [("a", ct.c_char), ("b", ct.c_char)]

    assert "_fields_" in seen
    assert ct.sizeof(S) == 8 and S.b.offset == 4
    S.extra = 1
    assert seen[-1] == "extra" and S.extra == 1


@pytest.mark.parametrize("where", ["plain", "inherited", "descriptor", "meta", "meta_property"])
def test_anonymous_read_as_an_attribute(where):
    def make(mod):
        class Inner(mod.Union):
            _fields_ = [("x", mod.c_int), ("y", mod.c_float)]

        anon = ("u",)

        class Descr:
            def __get__(self, obj, cls=None):
                return anon

        meta_ns = {}
        ns = {"_fields_": [("u", Inner), ("c", mod.c_int)]}
        bases = (mod.Structure,)
        if where == "plain":
            ns["_anonymous_"] = anon
        elif where == "inherited":
            bases = (type("Base", (mod.Structure,), {"_anonymous_": anon}),)
        elif where == "descriptor":
            ns["_anonymous_"] = Descr()
        elif where == "meta":
            meta_ns["_anonymous_"] = anon
        else:
            meta_ns["_anonymous_"] = property(lambda cls: anon)
        meta = type("Meta", (type(mod.Structure),), meta_ns)
        cls = meta("S", bases, ns)
        s = cls()
        s.x = 7
        return mod.sizeof(cls), s.u.x, hasattr(cls, "x")

    assert both(make) == ("ok", (8, 7, True))


@pytest.mark.parametrize("value", [None, 0, 1, "x"])
def test_swappedbytes_read_as_an_attribute(ferrotype, value):
    # Any `_swappedbytes_` (even None) numbers the bit-fields from the other end, wherever
    # the attribute is found: in the class, a base, or a metaclass.
    ct = ferrotype

    def image(ns=(), bases=None, meta_ns=()):
        meta = type("Meta", (type(ct.Structure),), dict(meta_ns))
        ns = {"_fields_": [("a", ct.c_uint32, 4)], **dict(ns)}
        return bytes(meta("S", bases or (ct.Structure,), ns)(1))

    swapped = image(ns={"_swappedbytes_": value})
    assert swapped != image()
    base = type(ct.Structure)("B", (ct.Structure,), {"_swappedbytes_": value})
    assert image(bases=(base,)) == swapped
    assert image(meta_ns={"_swappedbytes_": value}) == swapped


def test_attribute_lookup_errors_propagate():
    class Boom:
        def __get__(self, obj, cls=None):
            raise ZeroDivisionError("boom")

    def make(mod):
        ns = {"_fields_": [("a", mod.c_int)], "_swappedbytes_": Boom()}
        return mod.sizeof(type(mod.Structure)("S", (mod.Structure,), ns))

    assert both(make)[0] == "ZeroDivisionError"


def test_fields_set_later_and_refused_twice(ct):
    class S(ct.Structure):
        pass

    S._fields_ = [("a", ct.c_int)]
    assert ct.sizeof(S) == 4 and S._fields_ == [("a", ct.c_int)]
    with pytest.raises(AttributeError, match="^_fields_ is final$"):
        S._fields_ = [("b", ct.c_int)]


def test_metaclass_init_called_again():
    # 3.13+: the type information is made by the metaclass's __init__, once; up to 3.12
    # the metaclass has type's own __init__.
    def again(mod):
        meta = type(mod.Structure)

        class S(mod.Structure):
            _fields_ = [("a", mod.c_int)]

        meta.__init__(S, "S", (mod.Structure,), {})
        return mod.sizeof(S)

    def abstract_again(mod):
        meta = type(mod.Structure)

        class A(mod.Structure):
            _abstract_ = True

        meta.__init__(A, "A", (mod.Structure,), {})
        return "A"

    def new_then_init(mod, *args):
        meta = type(mod.Structure)
        cls = meta.__new__(meta, "X", (mod.Structure,), {"_fields_": [("a", mod.c_int)]})
        meta.__init__(cls, *args)
        return mod.sizeof(cls)

    both(again)
    both(abstract_again)
    both(lambda mod: new_then_init(mod, "X", (mod.Structure,), {}))
    both(lambda mod: new_then_init(mod, "X", (mod.Structure,), {}, extra=1))


def test_init_subclass_runs_before_the_type_information(ct):
    seen = []

    class Base(ct.Structure):
        def __init_subclass__(cls, tag=None, **kwargs):
            super().__init_subclass__(**kwargs)
            seen.append((cls.__name__, tag, "_fields_" in cls.__dict__))

    class S(Base, tag="t"):
        _fields_ = [("a", ct.c_int)]

    assert seen == [("S", "t", True)]
    assert ct.sizeof(S) == 4


def test_stdlib_field_types_in_the_class_body(ferrotype):
    class S(ferrotype.Structure):
        _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double * 2)]

    assert ferrotype.sizeof(S) == 24
    assert S._fields_[0][1] is ferrotype.c_int
    assert S(1, (2.0, 3.0)).b[1] == 3.0
