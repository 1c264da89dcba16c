"""Bad input never crashes the interpreter: it raises the exception stdlib ctypes raises.

Every case runs in this process, so a crash (a panic crossing into Python, a segfault, a stack
overflow) fails the whole run. Raw-address operations (string_at, memmove, from_address, ...) are
never given bad addresses: those crash in ctypes too, by design.

Not covered, because stdlib ctypes itself crashes on it: an object whose ``_as_parameter_`` is
itself. ctypes recurses in C and, with a deep enough Python stack (as under pytest), overflows the
C stack before the recursion limit triggers.
"""

import gc
import re
import sys

import pytest


class _Boom:
    @property
    def _as_parameter_(self):
        raise RuntimeError("boom")


def _declared(lib, ct, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


# The running interpreter's ctypes' own message, for errors whose wording changed between
# versions ("wrong type" on 3.11, the conversion's error from 3.12, ...).
STDLIB = object()

# Each case: (id, action(ct, lib, path), exception type, message: a regex, STDLIB or None).
# An exception type of STDLIB (with a STDLIB message) is the stdlib's too.
CASES = [
    # -- calls: argument count and types
    (
        "too-few-args",
        lambda ct, lib, path: _declared(lib, ct, "add", ct.c_int, ct.c_int, ct.c_int)(1),
        TypeError,
        r"^this function takes at least 2 arguments \(1 given\)$",
    ),
    (
        "wrong-type",
        lambda ct, lib, path: _declared(lib, ct, "add", ct.c_int, ct.c_int, ct.c_int)(1, "x"),
        "ArgumentError",
        STDLIB,
    ),
    (
        "float-no-argtypes",
        lambda ct, lib, path: lib.add(1.5, 2),
        "ArgumentError",
        r"^argument 1: TypeError: Don't know how to convert parameter 1$",
    ),
    (
        "char-p-given-str",
        lambda ct, lib, path: _declared(lib, ct, "str_len", ct.c_size_t, ct.c_char_p)("text"),
        "ArgumentError",
        STDLIB,
    ),
    (
        "pointer-given-int",
        lambda ct, lib, path: _declared(lib, ct, "set_int", None, ct.POINTER(ct.c_int), ct.c_int)(
            1234, 1
        ),
        "ArgumentError",
        r"^argument 1: TypeError: expected LP_c_int instance instead of int$",
    ),
    # -- huge numbers
    (
        "int-beyond-64-bits-no-argtypes",
        lambda ct, lib, path: lib.echo_int(2**100),
        "ArgumentError",
        r"^argument 1: OverflowError: ",
    ),
    (
        "negative-beyond-64-bits-no-argtypes",
        lambda ct, lib, path: lib.echo_int(-(2**100)),
        "ArgumentError",
        r"^argument 1: OverflowError: ",
    ),
    (
        "huge-int-to-double",
        lambda ct, lib, path: ct.c_double(2**2000),
        OverflowError,
        r"^int too large to convert to float$",
    ),
    (
        "huge-int-to-double-arg",
        lambda ct, lib, path: _declared(lib, ct, "echo_double", ct.c_double, ct.c_double)(2**2000),
        "ArgumentError",
        STDLIB,
    ),
    (
        "set-errno-overflow",
        lambda ct, lib, path: ct.set_errno(2**40),
        OverflowError,
        None,
    ),
    # -- NULL pointers
    (
        "null-pointer-contents",
        lambda ct, lib, path: ct.POINTER(ct.c_int)().contents,
        ValueError,
        r"^NULL pointer access$",
    ),
    (
        "null-pointer-index",
        lambda ct, lib, path: ct.POINTER(ct.c_double)()[0],
        ValueError,
        r"^NULL pointer access$",
    ),
    (
        "null-pointer-index-5",
        lambda ct, lib, path: ct.POINTER(ct.c_int)()[5],
        ValueError,
        r"^NULL pointer access$",
    ),
    (
        "null-pointer-store",
        lambda ct, lib, path: ct.POINTER(ct.c_int)().__setitem__(0, 1),
        ValueError,
        r"^NULL pointer access$",
    ),
    (
        "null-pointer-from-c",
        lambda ct, lib, path: _declared(lib, ct, "get_null_pointer", ct.POINTER(ct.c_int))()[0],
        ValueError,
        r"^NULL pointer access$",
    ),
    # -- loading
    (
        "missing-library",
        lambda ct, lib, path: ct.CDLL("/nonexistent/libft_missing.so"),
        OSError,
        r"cannot open shared object file",
    ),
    (
        "directory-as-library",
        lambda ct, lib, path: ct.CDLL("/"),
        OSError,
        r"^/: cannot read file data: Is a directory$",
    ),
    (
        "missing-symbol",
        lambda ct, lib, path: lib.ft_missing_symbol,
        AttributeError,
        r"undefined symbol: ft_missing_symbol$",
    ),
    (
        "missing-symbol-item",
        lambda ct, lib, path: lib["ft_missing_symbol"],
        AttributeError,
        r"undefined symbol: ft_missing_symbol$",
    ),
    (
        "missing-variable",
        lambda ct, lib, path: ct.c_int.in_dll(lib, "ft_missing_symbol"),
        ValueError,
        r"undefined symbol: ft_missing_symbol$",
    ),
    (
        "path-with-nul",
        lambda ct, lib, path: ct.CDLL(path + "\0junk"),
        ValueError,
        r"embedded null byte",
    ),
    # -- sizes
    (
        "string-buffer-negative",
        lambda ct, lib, path: ct.create_string_buffer(-1),
        ValueError,
        r"^Array length must be >= 0, not -1$",
    ),
    (
        "unicode-buffer-negative",
        lambda ct, lib, path: ct.create_unicode_buffer(-1),
        ValueError,
        r"^Array length must be >= 0, not -1$",
    ),
    (
        "array-negative-length",
        lambda ct, lib, path: ct.c_int * -1,
        ValueError,
        r"^Array length must be >= 0, not -1$",
    ),
    (
        "array-too-large",
        lambda ct, lib, path: ct.c_int * 2**62,
        OverflowError,
        r"^array too large$",
    ),
    (
        "array-length-beyond-ssize-t",
        lambda ct, lib, path: ct.c_int * 2**70,
        OverflowError,
        None,
    ),
    (
        "array-length-float",
        lambda ct, lib, path: ct.c_int * 1.5,
        TypeError,
        None,
    ),
    (
        "string-buffer-too-small",
        lambda ct, lib, path: ct.create_string_buffer(b"abc", 2),
        ValueError,
        r"^byte string too long$",
    ),
    (
        "string-buffer-index",
        lambda ct, lib, path: ct.create_string_buffer(3)[3],
        IndexError,
        r"^invalid index$",
    ),
    (
        "string-buffer-store-index",
        lambda ct, lib, path: ct.create_string_buffer(3).__setitem__(-4, b"x"),
        IndexError,
        r"^invalid index$",
    ),
    # -- helpers given the wrong kind of object
    ("sizeof-int", lambda ct, lib, path: ct.sizeof(1), TypeError, r"^this type has no size$"),
    ("alignment-int", lambda ct, lib, path: ct.alignment(1), TypeError, r"^no alignment info$"),
    ("addressof-int", lambda ct, lib, path: ct.addressof(1), TypeError, STDLIB),
    (
        "byref-int",
        lambda ct, lib, path: ct.byref(1),
        TypeError,
        STDLIB,
    ),
    # The type and message changed in 3.14: both come from the stdlib.
    ("pointer-int", lambda ct, lib, path: ct.pointer(1), STDLIB, STDLIB),
    ("POINTER-int", lambda ct, lib, path: ct.POINTER(1), STDLIB, STDLIB),
    (
        "cast-to-non-pointer",
        lambda ct, lib, path: ct.cast(1, ct.c_int),
        TypeError,
        r"^cast\(\) argument 2 must be a pointer type, not c_int$",
    ),
    (
        "cast-simple-instance",
        lambda ct, lib, path: ct.cast(ct.c_int(1), ct.c_void_p),
        "ArgumentError",
        STDLIB,
    ),
    (
        "from-param-wrong-type",
        lambda ct, lib, path: ct.c_char_p.from_param("x"),
        TypeError,
        STDLIB,
    ),
    # -- declarations
    (
        "restype-int",
        lambda ct, lib, path: setattr(lib.add, "restype", 5),
        TypeError,
        r"^restype must be a type, a callable, or None$",
    ),
    (
        "argtypes-int",
        lambda ct, lib, path: setattr(lib.add, "argtypes", 5),
        TypeError,
        r"^_argtypes_ must be a sequence of types$",
    ),
    (
        "errcheck-int",
        lambda ct, lib, path: setattr(lib.add, "errcheck", 5),
        TypeError,
        r"^the errcheck attribute must be callable$",
    ),
    (
        "library-item-int",
        lambda ct, lib, path: lib[1],
        TypeError,
        r"^function name must be string, bytes object or integer$",
    ),
    # -- Python code called during a call
    (
        "as-parameter-raises",
        lambda ct, lib, path: lib.add(_Boom(), 1),
        "ArgumentError",
        r"^argument 1: RuntimeError: boom$",
    ),
    (
        "from-param-raises",
        lambda ct, lib, path: _declared(
            lib,
            ct,
            "add",
            ct.c_int,
            type("Bad", (), {"from_param": classmethod(lambda c, o: 1 / 0)}),
        )(1),
        "ArgumentError",
        r"^argument 1: ZeroDivisionError: division by zero$",
    ),
    # -- values
    (
        "c-char-p-from-str",
        lambda ct, lib, path: ct.c_char_p("str"),
        TypeError,
        r"^bytes or integer address expected instead of str instance$",
    ),
    (
        "c-wchar-p-from-bytes",
        lambda ct, lib, path: ct.c_wchar_p(b"x"),
        TypeError,
        r"^unicode string or integer address expected instead of bytes instance$",
    ),
    (
        "c-int-from-float",
        lambda ct, lib, path: ct.c_int(1.5),
        TypeError,
        r"^'float' object cannot be interpreted as an integer$",
    ),
    ("hash-simple", lambda ct, lib, path: hash(ct.c_int(1)), TypeError, r"unhashable type"),
]


@pytest.mark.parametrize(
    "action, exc, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)  # fmt: skip
def test_bad_input_raises(ct, lib, fixture_path, action, exc, message):
    if message is STDLIB:
        import ctypes

        with pytest.raises(Exception) as expected:
            action(ctypes, ctypes.CDLL(fixture_path), fixture_path)
        message = "^" + re.escape(str(expected.value)) + "$"
        if exc is STDLIB:
            exc = type(expected.value)
    if exc == "ArgumentError":
        exc = ct.ArgumentError
    with pytest.raises(exc) as info:
        action(ct, lib, fixture_path)
    assert type(info.value) is exc
    if message is not None:
        assert re.search(message, str(info.value)), str(info.value)


def test_null_string_reads_are_none(ct, cfunc):
    assert ct.c_char_p().value is None
    assert ct.c_wchar_p().value is None
    assert ct.c_char_p(0).value is None
    assert ct.cast(None, ct.c_char_p).value is None
    assert cfunc("get_null_string", ct.c_char_p)() is None
    assert cfunc("get_null_pointer", ct.c_wchar_p)() is None


def test_interpreter_still_works_after_errors(ct, lib):
    # after all the failures above, the same library and module still work normally
    for _ in range(3):
        with pytest.raises(ct.ArgumentError):
            lib.add(1.5, 1)
    assert lib.add(2, 2) == 4
    f = lib.add
    f.argtypes = [ct.c_int, ct.c_int]
    with pytest.raises(TypeError):
        f()
    assert f(3, 3) == 6


def test_many_failed_calls_do_not_leak_references(ct, lib):
    class Param:
        def __init__(self, value):
            self._as_parameter_ = value

    marker = object()
    before = sys.getrefcount(marker)
    param = Param(marker)
    for _ in range(100):
        with pytest.raises(ct.ArgumentError):
            lib.add(param, 1)
    del param
    gc.collect()
    assert sys.getrefcount(marker) == before


def test_a_class_that_only_carries_type_information_is_not_trusted(fixture_path):
    """A class that copies a ferrotype type's information without deriving from its base is
    refused as an argument type's value, never read as an instance (both call engines)."""
    import ferrotype as ct
    from ferrotype import _native

    lib = ct.CDLL(fixture_path)

    class Point(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    class FakePoint:
        _ft_info_ = Point._ft_info_

        @classmethod
        def from_param(cls, obj):
            return obj

    class FakePointer:
        _ft_info_ = ct.POINTER(ct.c_int)._ft_info_

        @classmethod
        def from_param(cls, obj):
            return obj

    for registers in (True, False):
        previous = _native._set_register_calls(registers)
        try:
            f = _declared(lib, ct, "ft_pt_add", Point, FakePoint, FakePoint)
            with pytest.raises(ct.ArgumentError, match="argument 1"):
                f(FakePoint(), FakePoint())
            g = _declared(lib, ct, "ft_cb_call_int", ct.c_int, FakePointer, ct.c_int)
            with pytest.raises(ct.ArgumentError, match="argument 1"):
                g(FakePointer(), 1)
        finally:
            _native._set_register_calls(previous)


@pytest.mark.parametrize(
    "example", ["Structure", "Union", "c_int", "POINTER(c_int)", "c_int * 2", "CFUNCTYPE(None)"]
)
def test_metaclass_called_with_an_endless_namespace(ct, example) -> None:
    """A metaclass called with an endless iterable as its namespace refuses it at once
    (found by the crash fuzzer: ferrotype looked for ``__module__`` in it first)."""
    import itertools

    meta = type(eval(example, vars(ct)))
    # stdlib ctypes' pointer metaclass raises SystemError ("bad argument to internal function")
    refused = TypeError if ct.__name__ == "ferrotype" else (TypeError, SystemError)
    with pytest.raises(refused):
        meta("X", (), itertools.count())
    with pytest.raises(refused):
        meta("X", (), ct.pointer(ct.pointer(ct.c_int(1))))
