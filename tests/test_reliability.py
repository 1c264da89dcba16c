"""Inputs that once crashed, aborted or panicked ferrotype: each runs in a child process (so
a crash is a failed test, not a dead run) and must raise what the running interpreter's
stdlib ctypes raises.

The outcome of a case is ``RAISED <type>: <message>``, ``RETURNED`` or the signal that
killed the child. ctypes' outcome is the expectation (the same code run with the stdlib in
a child of its own); where ctypes itself crashes, ferrotype must raise one of the expected
exception types instead. Memory-limit cases set ``RLIMIT_AS`` in the child.
"""

import functools
import subprocess
import sys
import textwrap

import pytest

GiB = 1 << 30

CHILD = """
import resource, sys
if {limit}:
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import {mod} as ct
from {mod} import *
try:
{code}
except BaseException as e:
    print("RAISED", type(e).__name__ + ":", e)
    sys.exit(0)
print("RETURNED")
"""


@functools.cache
def address_limits_apply() -> bool:
    """Whether a child's RLIMIT_AS takes: qemu-user (`make test-aarch64`) ignores it."""
    probe = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (2**33, 2**33)); "
        "print(resource.getrlimit(resource.RLIMIT_AS)[0])"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return r.stdout.strip() == str(2**33)


def needs_address_limits() -> None:
    if not address_limits_apply():
        pytest.skip("RLIMIT_AS does not take here (qemu-user ignores it)")


@functools.cache
def outcome(mod, code, limit=0):
    src = CHILD.format(mod=mod, limit=limit, code=textwrap.indent(textwrap.dedent(code), "    "))
    try:
        r = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "TIMEOUT"
    if r.returncode < 0:
        return f"SIGNAL {-r.returncode}"
    lines = r.stdout.strip().splitlines()
    if r.returncode or not lines:
        return f"EXIT {r.returncode}: " + (r.stderr.strip().splitlines() or [""])[-1]
    return lines[-1]


@pytest.fixture
def ctypes_and_ferrotype_outcomes(ferrotype):
    def run(code, limit=0):
        return outcome("ferrotype", code, limit), outcome("ctypes", code, limit)

    return run


def exc_type(out):
    return out.split()[1].rstrip(":") if out.startswith("RAISED") else out


# Cases where ctypes raises an exception: (id, code, compare the message too).
SAME_AS_CTYPES = [
    # The three pointer-iteration reproducers.
    (
        "bigendian-entry-pointer",
        "class X(BigEndianStructure): _fields_ = [pointer(c_int(1))]",
        True,
    ),
    ("fields-pointer", "type('X', (Structure,), {'_fields_': pointer(c_int(1))})", True),
    ("slice-assign-pointer", "a = (c_int * 4)(); a[1:2] = pointer(c_int(1))", True),
    ("char-slice-assign-pointer", "a = (c_char * 4)(); a[1:2] = pointer(c_char(b'a'))", True),
    ("wchar-slice-assign-pointer", "a = (c_wchar * 4)(); a[0:1] = pointer(c_int(1))", True),
    # Slice assignment asks the length first and reads the items by index.
    ("slice-assign-iterator", "(c_int * 4)()[:] = iter(range(10**9))", True),
    ("char-slice-assign-iterator", "(c_char * 4)()[:] = iter(range(10**9))", True),
    ("slice-assign-generator", "(c_int * 4)()[:] = (i for i in range(4))", True),
    ("slice-assign-dict", "(c_int * 2)()[:] = {0: 1, 1: 2}", True),
    (
        "slice-assign-len-and-getitem",
        """
        class L:
            def __len__(self): return 2
            def __iter__(self): return iter(range(10))
            def __getitem__(self, i): return 7
        a = (c_int * 2)(); a[:] = L(); print(list(a))
        assert list(a) == [7, 7], list(a)
        raise KeyError("done")
        """,
        True,
    ),
    # Byte-order structures read each entry by index and slice, as ctypes does.
    ("bigendian-entry-list", "class X(BigEndianStructure): _fields_ = [['a', c_int]]", True),
    ("bigendian-fields-dict", "class X(BigEndianStructure): _fields_ = {'a': c_int}", True),
    ("bigendian-fields-pointer", "class X(BigEndianStructure): _fields_ = pointer(c_int(1))", True),
    # _fields_ and _anonymous_ of the wrong shape.
    # (3.14 accepts any iterable: the size then says what it made of it)
    (
        "fields-generator",
        "class S(Structure): _fields_ = (x for x in [('a', c_int)])\nraise KeyError(sizeof(S))",
        True,
    ),
    ("fields-int", "class S(Structure): _fields_ = 5", True),
    (
        "fields-dict",
        "class S(Structure): _fields_ = {('a', c_int): 1}\nraise KeyError(sizeof(S))",
        True,
    ),
    (
        "fields-entry-generator",
        "class S(Structure): _fields_ = [(x for x in ('a', c_int))]\nraise KeyError(sizeof(S))",
        True,
    ),
    # A length no memory could hold, or entries that are bad from the first one, end
    # at once (3.14 iterates and stops at the first bad entry; before, ctypes
    # allocates room for all entries first).
    (
        "fields-huge-len-bad-entries",
        """
        class F:
            def __len__(self): return 10**18
            def __getitem__(self, i): return 5
        class S(Structure): _fields_ = F()
        """,
        True,
    ),
    (
        "fields-long-len-bad-entries",
        """
        class F:
            def __len__(self): return 10**7
            def __getitem__(self, i): return 5
        class S(Structure): _fields_ = F()
        """,
        True,
    ),
    ("anonymous-int", "class S(Structure): _anonymous_ = 5; _fields_ = [('a', c_int)]", True),
    (
        "anonymous-iterator",
        """
        class T(Structure): _fields_ = [('x', c_int)]
        class S(Structure): _anonymous_ = iter(['a']); _fields_ = [('a', T)]
        S().x
        raise KeyError("done")
        """,
        True,
    ),
    # Allocations whose size the user decides: MemoryError (ctypes' message is empty,
    # ferrotype's says how much).
    ("create_string_buffer-2**62", "create_string_buffer(2**62)", False),
    ("char-array-2**62", "(c_char * 2**62)()", False),
    ("char-array-type-2**62", "T = c_char * 2**62; raise KeyError(sizeof(T))", True),
    ("resize-2**62", "b = create_string_buffer(4); resize(b, 2**62)", False),
    ("resize-2**40", "b = create_string_buffer(4); resize(b, 2**40)", False),
    # The machine's overcommit policy decides, as it decides for ctypes' calloc.
    ("char-array-2**40", "(c_char * 2**40)()", False),
    ("create_unicode_buffer-2**62", "create_unicode_buffer(2**62)", True),
]


@pytest.mark.parametrize("code, message", [pytest.param(c, m, id=i) for i, c, m in SAME_AS_CTYPES])
def test_raises_as_ctypes(ct, code, message):
    expected = outcome("ctypes", code)
    assert expected.startswith("RAISED"), expected
    got = outcome(ct.__name__, code)
    if message:
        assert got == expected
    else:
        assert exc_type(got) == exc_type(expected), (got, expected)


# Under an address-space limit (the child's RLIMIT_AS).
LIMITED = [
    ("pickle-4GiB-array", "import pickle; pickle.dumps((c_ubyte * 2**32)())", 6 * GiB),
    ("pickle-2GiB-array", "import pickle; pickle.dumps((c_ubyte * 2**31)())", 3 * GiB),
    ("pointer-slice-2**40", "pointer(c_int(1))[0:2**40]", 4 * GiB),
    ("char-pointer-slice-2**40", "pointer(c_char(b'a'))[0:2**40]", 4 * GiB),
    ("char-array-2**33", "(c_char * 2**33)()", 4 * GiB),
    ("create_string_buffer-2**33", "create_string_buffer(2**33)", 4 * GiB),
]


@pytest.mark.parametrize("code, limit", [pytest.param(c, m, id=i) for i, c, m in LIMITED])
def test_memory_error_under_a_limit(ct, code, limit):
    needs_address_limits()
    expected = outcome("ctypes", code, limit)
    assert exc_type(expected) == "MemoryError", expected
    assert exc_type(outcome(ct.__name__, code, limit)) == "MemoryError"


# Where stdlib ctypes crashes (reads past a pointer's target without end), ferrotype
# raises: (id, code, the exception type).
CTYPES_CRASHES = [
    (
        "anonymous-pointer",
        "class S(Structure): _anonymous_ = pointer(c_int(1)); _fields_ = [('a', c_int)]",
        "TypeError",
    ),
    ("argtypes-pointer", "f = CDLL(None).abs; f.argtypes = pointer(c_int(1))", "TypeError"),
    (
        "callback-argtypes-pointer",
        "from ferrotype._ctypes import CFuncPtr\nclass F(CFuncPtr):\n"
        "    _argtypes_ = pointer(c_int(1)); _restype_ = c_int; _flags_ = 1\n"
        "F(lambda x: x)",
        "TypeError",
    ),
]


@pytest.mark.parametrize("code, exc", [pytest.param(c, e, id=i) for i, c, e in CTYPES_CRASHES])
def test_no_crash_where_ctypes_crashes(ferrotype, code, exc):
    assert exc_type(outcome("ferrotype", code)) == exc


# Where stdlib ctypes reads without end (or builds a tuple of every item before it counts
# them), ferrotype stops at the first item past what a call can take (1024 arguments):
# (id, code, the outcome).
TOO_MANY = "RAISED ArgumentError: _argtypes_ has too many arguments"
CTYPES_HANGS = [
    (
        "argtypes-len-none-endless",
        """
        class A:
            def __len__(self): return None
            def __getitem__(self, i): return c_int
        CDLL(None).labs.argtypes = A()
        """,
        TOO_MANY + " (more than 1024), maximum is 1024",
    ),
    (
        "argtypes-len-raises-endless",
        """
        class A:
            def __len__(self): return 1 / 0
            def __getitem__(self, i): return c_int
        CDLL(None).labs.argtypes = A()
        """,
        TOO_MANY + " (more than 1024), maximum is 1024",
    ),
    (
        "argtypes-short-len-endless",
        """
        class A:
            def __len__(self): return 2
            def __getitem__(self, i): return c_int
        CDLL(None).labs.argtypes = A()
        """,
        TOO_MANY + " (more than 1024), maximum is 1024",
    ),
    (
        "argtypes-huge-len",
        """
        class A:
            def __len__(self): return 10**8
            def __getitem__(self, i): return 1
        CDLL(None).labs.argtypes = A()
        """,
        TOO_MANY + " (100000000), maximum is 1024",
    ),
]


@pytest.mark.parametrize("code, want", [pytest.param(c, w, id=i) for i, c, w in CTYPES_HANGS])
def test_stops_where_ctypes_reads_without_end(ferrotype, code, want):
    assert outcome("ferrotype", code) == want


def test_fields_entry_pointer(ct):
    # ctypes up to 3.13 refuses the entry (not a tuple); 3.14's `tuple(entry)` never ends
    # and crashes, where ferrotype refuses it as an entry of the wrong shape.
    code = "class S(Structure): _fields_ = [pointer(c_int(1))]"
    expected = outcome("ctypes", code)
    got = outcome(ct.__name__, code)
    if expected.startswith("RAISED"):
        assert got == expected
    elif ct.__name__ == "ferrotype":
        assert got == (
            "RAISED ValueError: _fields_ must be a sequence of (name, C type) pairs or "
            "(name, C type, bit size) triples"
        )


@pytest.mark.parametrize(
    "call",
    [
        "ndpointer(shape=ct.pointer(ct.c_int(1)))",
        "as_array(ct.cast((ct.c_int * 4)(), ct.POINTER(ct.c_int)), shape=ct.pointer(ct.c_int(2)))",
    ],
)
def test_ctypeslib_shape_pointer(ferrotype, call):
    # NumPy's ctypeslib iterates such a shape without end (a crash).
    pytest.importorskip("numpy")
    code = f"from ferrotype import ctypeslib\nctypeslib.{call}"
    assert outcome("ferrotype", code).startswith(
        "RAISED TypeError: shape must be an integer or a sequence of integers"
    )


@pytest.mark.parametrize(
    "code",
    [
        "print(string_at(create_string_buffer(4), 2**40))",
        "print(wstring_at(create_unicode_buffer(4), 2**40))",
        "print(wstring_at(create_unicode_buffer(4), 2**61))",
    ],
)
def test_string_at_huge_size(ctypes_and_ferrotype_outcomes, code):
    # The size is a C int, as in ctypes: 2**40 and 2**61 are 0, so nothing is read.
    ours, theirs = ctypes_and_ferrotype_outcomes(code, 8 * GiB)
    assert ours == theirs


@pytest.mark.parametrize(
    "code",
    [
        "string_at(create_string_buffer(4), 2**31 - 1)",
        "wstring_at(create_unicode_buffer(4), 2**31 - 1)",
    ],
)
def test_string_at_beyond_memory(ferrotype, code):
    # A size that cannot be allocated is MemoryError, raised before any byte past the
    # buffer is read, not a panic or a crash (ctypes reads past the buffer).
    needs_address_limits()
    got = outcome("ferrotype", code, 1 * GiB)
    assert exc_type(got) == "MemoryError", got


@pytest.mark.parametrize(
    "code, expected",
    [
        (
            "a = (c_int * 6)(*range(6)); print(a[::2], a[5:0:-2], a[1:3])",
            "[0, 2, 4] [5, 3, 1] [1, 2]",
        ),
        ("a = (c_char * 4)(*b'abcd'); print(a[::2], a[3::-1], a[1:3])", "b'ac' b'dcba' b'bc'"),
        ("a = (c_wchar * 3)(*'xyz'); print(a[::-1], a[:2])", "zyx xy"),
        (
            "a = (c_int * 4)(1, 2, 3, 4); p = cast(a, POINTER(c_int)); print(p[0:4:2], p[3:-1:-1])",
            "[1, 3] [4, 3, 2, 1]",
        ),
        ("a = (c_char * 4)(); a[1:3] = b'xy'; a[::3] = [b'a', 98]; print(a.raw)", "b'axyb'"),
    ],
)
def test_slices_still_work(ct, code, expected):
    # (in this process: the slicing paths rewritten for fallible allocation)
    ns = {name: getattr(ct, name) for name in ("c_int", "c_char", "c_wchar", "cast", "POINTER")}
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, ns)
    assert out.getvalue().strip() == expected
