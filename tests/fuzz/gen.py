# ruff: noqa: E501 - lines of generated source read best unbroken
"""Generation: (seed, index) -> one line of Python that exercises ferrotype with odd input.

Every input is a string of simple statements joined by ``; `` (no compound statement, so it
stays one line), run with the names of ``PRELUDE`` in scope. ``C`` is the implementation
under test (``ferrotype`` or stdlib ``ctypes``), its star-exported names are bare, and
``_ctypes``, ``util``, ``wintypes``, ``ctypeslib`` are its submodules (for stdlib ctypes:
``_ctypes``, ``ctypes.util``, ``ctypes.wintypes`` and ``numpy.ctypeslib``). The same
string runs against either implementation, so outcomes compare input by input.

Each input comes from its own ``random.Random(f"{seed}:{index}")``, so it can be remade
alone. Odd objects are written inline (``type('Ix', (), {'__index__': ...})()``) so that
the line needs nothing from this package.

The rules that keep documented raw-address operations out (see ``fuzz/__init__.py``) are
applied here, where the types and values are chosen: ``bears_ptr`` marks a type whose
memory holds an address (``c_char_p``, ``c_wchar_p``, ``py_object``, pointers, function
pointers, and arrays/structures of them), and ``has_int`` marks a value with an integer
anywhere inside; the two never meet where bytes are written into memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import ferrotype as _ft
from ferrotype import _ctypes as _ftc
from ferrotype import wintypes as _ftw

# ---- the API, walked once ----------------------------------------------------------------------

_STAR: set[str] = set()
exec("from ferrotype import *", {}, _d := {})  # noqa: S102 - the star-exported names
_STAR.update(_d)


def _qual(mod: str, name: str) -> str:
    if mod == "C":
        return name if name in _STAR else f"C.{name}"
    return f"{mod}.{name}"


def _is_simple(cls) -> bool:
    return (
        isinstance(cls, type) and issubclass(cls, _ft._SimpleCData) and cls is not _ft._SimpleCData
    )


def bears_ptr(cls) -> bool:
    """Whether instances of ``cls`` hold an address that reading dereferences."""
    try:
        if _is_simple(cls):
            return cls._type_ in ("z", "Z", "O", "X")
        if issubclass(cls, (_ft._Pointer, _ft._CFuncPtr)):
            return True
        if issubclass(cls, _ft.Array):
            return bears_ptr(cls._type_)
        if issubclass(cls, (_ft.Structure, _ft.Union)):
            return any(bears_ptr(f[1]) for f in getattr(cls, "_fields_", ()))
    except (TypeError, AttributeError):
        return True
    return False


# Names no input calls, and why (the list the module docstring explains).
EXCLUDED_CALLS = {
    # raw addresses: documented as unchecked in ctypes and ferrotype alike
    "_cast_addr", "_memmove_addr", "_memset_addr", "_string_at_addr", "_wstring_at_addr",
    "PyObj_FromPtr", "Py_INCREF", "Py_DECREF", "call_function", "call_cdeclfunction",
    "dlclose", "dlsym", "memoryview_at", "_memoryview_at_addr", "_FunctionAt", "_call_at", "_native_cast",
    "_cast", "_string_at", "_wstring_at", "pythonapi",
    # reached only through the families below, which keep their raw uses out
    "cast", "memmove", "memset", "string_at", "wstring_at",
    # global switches: would make one input depend on the ones before it
    "install", "strict", "_reset_cache", "debug_callbacks", "SetPointerType", "set_errno",
    # run compilers or print the whole library list (slow, and not ours: ctypes.util.test)
    "test",
}  # fmt: skip


def _walk() -> list[tuple[str, object]]:
    out = []
    for mod_name, mod in (("C", _ft), ("_ctypes", _ftc), ("wintypes", _ftw)):
        for n in sorted(dir(mod)):
            if n.startswith("__") or n in EXCLUDED_CALLS:
                continue
            obj = getattr(mod, n)
            if isinstance(obj, type(_ft)):
                continue
            if n.startswith("_") and not (isinstance(obj, type) and mod_name == "_ctypes"):
                continue
            if callable(obj):
                out.append((_qual(mod_name, n), obj))
    import ferrotype.ctypeslib as _cl
    import ferrotype.util as _u

    for n in ("as_array", "as_ctypes", "as_ctypes_type", "ndpointer", "load_library"):
        out.append((f"ctypeslib.{n}", getattr(_cl, n)))
    out.append(("util.find_library", _u.find_library))
    return out


API = _walk()
_CORE = sorted({_qual("C", n) for n in dir(_ft) if _is_simple(getattr(_ft, n))})
_WIN = [
    f"wintypes.{n}" for n in dir(_ftw) if not n.startswith("_") and _is_simple(getattr(_ftw, n))
]
# wintypes adds twice as many names, mostly c_void_p aliases: one simple type in six is one
SIMPLE = _CORE * 5 + _WIN
_SIMPLE_CLS = {s: eval(s, {"C": _ft, "wintypes": _ftw, **_d}) for s in SIMPLE}  # noqa: S307
SIMPLE_PTR = sorted({s for s, c in _SIMPLE_CLS.items() if bears_ptr(c)})
SIMPLE_PLAIN = [s for s in SIMPLE if s not in SIMPLE_PTR]
CORE_PLAIN = [s for s in _CORE if s not in SIMPLE_PTR]
NAMED_STRUCTS = [f"wintypes.{n}" for n in ("RECT", "POINT", "SIZE", "FILETIME", "MSG")]
BASES = ["Structure", "Union", "BigEndianStructure", "LittleEndianStructure", "BigEndianUnion",
         "LittleEndianUnion"]  # fmt: skip

# ---- values ------------------------------------------------------------------------------------

INTS = sorted(
    {0, 1, -1, 2, 3, 7, 8, 2**62, -(2**62), 2**64, -(2**64), 10**100, -(10**100), 2**64 + 1}
    | {s * 2**b + d for b in (7, 8, 15, 16, 31, 32, 63) for s in (1, -1) for d in (-1, 0, 1)}
)
FLOATS = ["float('nan')", "float('inf')", "-float('inf')", "-0.0", "1.5", "1e308", "5e-324",
          "2.0**64", "-1.0"]  # fmt: skip
LENGTHS = [0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 255, 256, 4096, 65537]
ODD_STR_BITS = ["''", "'\\x00'", "'a'", "'a\\x00b'", "'\\udc80'", "'\\U0010ffff'", "'é'"]
ODD_BYTES_BITS = ["b''", "b'\\x00'", "b'a'", "b'a\\x00b'", "bytes(range(256))"]


@dataclass
class V:
    src: str
    has_int: bool = False


class Gen:
    def __init__(self, rng: random.Random, strict: bool):
        self.r = rng
        self.strict = strict

    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    # -- values --

    def int_src(self) -> str:
        v = self.pick(INTS) if self.chance(0.85) else self.r.randrange(-300, 300)
        return repr(v)

    def small_len(self) -> int:
        return self.pick(LENGTHS) if self.chance(0.7) else self.r.randrange(0, 40)

    def value(self, depth: int = 0, ints: bool = True) -> V:
        """Any value; ``ints=False`` keeps integers (and int-like objects) out entirely."""
        r = self.r.randrange(100)
        if r < 18:
            if ints:
                return V(self.int_src(), True)
            return self.value(depth, ints)
        if r < 24:
            return V(self.pick(FLOATS))
        if r < 32:
            k = self.pick(ODD_BYTES_BITS)
            return V(f"{k}*{self.small_len()}" if self.chance(0.5) else k)
        if r < 38:
            k = self.pick(ODD_STR_BITS)
            return V(f"{k}*{self.small_len()}" if self.chance(0.5) else k)
        if r < 42:
            odd = ["None", "...", "object()", "1j", "NotImplemented", "print", "lambda *a: a",
                   "ValueError", "int", "type", "sys"]  # fmt: skip
            return V(self.pick(odd + ["True", "False"] if ints else odd), ints)
        if r < 50 and depth < 2:
            items = [self.value(depth + 1, ints) for _ in range(self.r.randrange(0, 4))]
            body = ", ".join(v.src for v in items)
            shape = self.pick(["({},)", "[{}]", "iter([{}])", "({} for _ in [0])"])
            if shape == "({},)" and not items:
                shape = "({})"
            return V(shape.format(body), any(v.has_int for v in items))
        if r < 56:
            if ints:
                return V(self.pick(["itertools.count()", "itertools.repeat(0)",
                                    "iter(range(10**9))", "range(10**18)", "[0]*10**6",
                                    "itertools.repeat(b'x')", "(1/0 for _ in [0])",
                                    "iter(int, 1)"]), True)  # fmt: skip
            return V(self.pick(["itertools.repeat(b'x')", "(1/0 for _ in [0])", "[None]*10**6",
                                "itertools.repeat(None)"]))  # fmt: skip
        if r < 66:
            return self.odd_object(ints)
        if r < 82:
            return self.instance_value(ints)
        if r < 88:
            return V(self.ctype(depth=1)[0])
        if r < 94:
            return self.buffer_value()
        return self.foreign_value()

    def odd_object(self, ints: bool = True) -> V:
        bad = self.pick(["1/0", "None", "'x'", "s", "2**64", "-1", "10**100", "1.5"])
        kind = self.r.randrange(7)
        if kind == 0:
            if not ints:
                return V("object()")
            iv = self.pick(["1/0", "-1", "2**64", "10**100", "None", "1.5", "2**62", "0", "3"])
            return V(f"type('Ix', (), {{'__index__': lambda s: {iv}}})()", True)
        if kind == 1:
            lv = self.pick(["1/0", "-1", "2**64", "10**18", "2**62", "0", "3", "None"])
            it = self.pick(["1", "1/0", "b'a'", "None"])
            return V(
                f"type('Ln', (), {{'__len__': lambda s: {lv}, '__getitem__': lambda s, i: {it}}})()",
                True,
            )
        if kind == 2:
            iv = self.pick(["1/0", "5", "iter([1/0])", "itertools.count()", "None"])
            return V(f"type('It', (), {{'__iter__': lambda s: {iv}}})()", ints)
        if kind == 3:
            inner = self.value(2, ints) if self.chance(0.6) else V(self.pick(["s", "1/0"]))
            if inner.src in ("s", "1/0"):
                return V(f"type('Ap', (), {{'_as_parameter_': property(lambda s: {inner.src})}})()")
            return V(f"type('Ap', (), {{'_as_parameter_': {inner.src}}})()", inner.has_int)
        if kind == 4:
            return V(f"type('Eq', (), {{'__eq__': lambda s, o: {bad}, '__hash__': None}})()")
        if kind == 5:
            base = self.pick(
                ["int", "str", "bytes", "float", "tuple", "list"] if ints else ["str", "float"]
            )
            arg = {"int": "5", "str": "'ab'", "bytes": "b'ab'", "float": "1.5", "tuple": "(1,)",
                   "list": "[1]"}[base]  # fmt: skip
            return V(f"type('Sub', ({base},), {{}})({arg})", base in ("int", "tuple", "list"))
        return V(f"type('Ga', (), {{'__getattr__': lambda s, n: {bad}}})()", ints)

    def instance_value(self, ints: bool = True) -> V:
        """A ferrotype instance made from safe arguments."""
        k = self.r.randrange(14)
        if k == 0:
            return V(f"{self.pick(SIMPLE_PLAIN)}()")
        if k == 1:
            return V(self.pick(["c_char_p(b'abc')", "c_wchar_p('abc')", "c_char_p()", "c_void_p()",
                                "py_object(1)", "py_object()"]))  # fmt: skip
        if k == 2:
            return V(f"create_string_buffer({self.small_len()})")
        if k == 3:
            return V(f"create_unicode_buffer({self.small_len()})")
        if k == 4:
            return V(f"({self.pick(SIMPLE_PLAIN)} * {self.small_len()})()")
        if k == 5:
            return V(f"pointer({self.pick(SIMPLE_PLAIN)}())")
        if k == 6:
            return V(f"POINTER({self.pick(SIMPLE_PLAIN)})()")
        if k == 7:
            return V(f"byref({self.pick(SIMPLE_PLAIN)}())")
        if k == 8:
            return V(f"{self.pick(NAMED_STRUCTS)}()")
        if k == 9:
            return V(f"CFUNCTYPE({self.pick(['c_int', 'None'])})(lambda *a: 0)")
        if k == 10:
            return V("CFUNCTYPE(c_int)()")
        if k == 11:
            return V("pointer(pointer(c_int(1)))")
        if k == 12:
            return V(f"{self.pick(SIMPLE_PLAIN)}.__ctype_be__()")
        return V("(c_char_p * 2)(b'a', None)")

    def buffer_value(self) -> V:
        n = self.small_len()
        return V(self.pick([
            f"bytearray({n})", f"bytes({n})", f"memoryview(bytearray({n}))",
            f"memoryview(bytearray({n}))[::2]", f"memoryview(bytes({n}))",
            f"__import__('array').array('i', [0]*{n})", f"np.zeros({n}, dtype=np.uint8)",
            f"np.zeros(({n}, 2))[:, 0]", "np.zeros((2, 3), dtype=np.int32).T",
            "np.zeros((), dtype=np.float64)", f"np.zeros({n}, dtype='>i4')",
            "np.zeros(2, dtype=[('a', 'i4'), ('b', 'f8')])", f"np.arange({n}).astype(object)",
            "memoryview(bytearray(8)).cast('B', (2, 4))",
        ]))  # fmt: skip

    def foreign_value(self) -> V:
        return V(self.pick([
            "__import__('ctypes').c_int(5)", "__import__('ctypes').create_string_buffer(8)",
            "__import__('ctypes').pointer(__import__('ctypes').c_int(1))",
            "__import__('ctypes').c_int", "__import__('ctypes').POINTER(__import__('ctypes').c_int)",
            "(__import__('ctypes').c_double * 3)()", "__import__('ctypes').byref(__import__('ctypes').c_int())",
            "__import__('ctypes').c_char_p(b'x')",
        ]))  # fmt: skip

    # -- types: (source, bears_ptr) --

    def ctype(self, depth: int = 0, plain: bool = False) -> tuple[str, bool]:
        k = self.r.randrange(12 if depth < 2 else 5)
        if k <= 2:
            if plain or self.chance(0.8):
                return self.pick(SIMPLE_PLAIN), False
            return self.pick(SIMPLE_PTR), True
        if k == 3:
            return f"{self.pick(CORE_PLAIN)}.__ctype_{self.pick(['be', 'le'])}__", False
        if k == 4:
            return f"type('Sub', ({self.pick(SIMPLE_PLAIN)},), {{}})", False
        if k in (5, 6):
            t, p = self.ctype(depth + 1, plain)
            return f"({t} * {self.small_len() if self.chance(0.9) else 2**20})", p
        if k == 7 and not plain:
            return f"POINTER({self.ctype(depth + 1)[0]})", True
        if k == 8 and not plain:
            args = ", ".join(self.ctype(depth + 1)[0] for _ in range(self.r.randrange(3)))
            return f"CFUNCTYPE({self.pick(['None', 'c_int', 'c_double'])}, {args})", True
        if k in (9, 10):
            fields, p = [], False
            for i in range(self.r.randrange(1, 4)):
                t, tp = self.ctype(depth + 1, plain)
                p |= tp
                if tp is False and t in SIMPLE_PLAIN and self.chance(0.2):
                    fields.append(f"('f{i}', {t}, {self.pick([1, 3, 7, 8, 16])})")
                else:
                    fields.append(f"('f{i}', {t})")
            base = self.pick(BASES[:2])
            if p and "Union" in base and not self.strict:
                base = "Structure"  # a union member that is an address is a raw cast
            extra = self.pick(["", ", '_pack_': 1", ", '_align_': 16", ", '_pack_': 2"])
            return f"type('S', ({base},), {{'_fields_': [{', '.join(fields)}]{extra}}})", p
        return self.pick(NAMED_STRUCTS), False

    def args(self, ints: bool = True, most: int = 4) -> str:
        return ", ".join(self.value(0, ints).src for _ in range(self.r.randrange(most + 1)))

    # -- keys and sizes --

    def key(self) -> str:
        k = self.r.randrange(10)
        if k < 4:
            return self.int_src()
        if k < 7:
            parts = [self.pick(["None", self.int_src(), self.int_src(), "2**64", "-10**100"])
                     for _ in range(3)]  # fmt: skip
            if self.chance(0.3):
                parts[2] = self.pick(["0", "2**63", "-1", "-(2**63)", "None"])
            return f"slice({', '.join(parts)})"
        if k == 7:
            return self.odd_object().src
        return self.pick(["...", "None", "(0, 1)", "'a'", "1.5", "b'0'", "(slice(None),)",
                          "[0]", "True", "np.int64(1)", "np.array([0])"])  # fmt: skip

    def pointer_key(self) -> str:
        """A key that stays at element 0 (outside strict mode: a pointer knows no length)."""
        if self.strict:
            return self.key()
        return self.pick(["0", "False", "slice(0, 1)", "slice(0, 0)", "slice(None, 1)",
                          "'a'", "1.5", "None", "slice(0, 1, 0)"])  # fmt: skip

    def size(self) -> str:
        return self.pick([self.int_src(), self.int_src(), str(self.small_len()), "2**40",
                          self.odd_object().src, "None", "1.5", "'4'"])  # fmt: skip

    # -- a subject: (type source, bears_ptr, instance expression, is_pointer) --

    def subject(self):
        k = self.r.randrange(8)
        if k == 0:
            t = self.pick(SIMPLE)
            inst = {"c_char_p": "c_char_p(b'abc')", "c_wchar_p": "c_wchar_p('abc')",
                    "py_object": "py_object([1])"}.get(t, f"{t}()")  # fmt: skip
            return t, t in SIMPLE_PTR, inst, False
        if k == 1:
            t = self.pick(SIMPLE_PLAIN)
            return f"POINTER({t})", True, f"pointer({t}())", True
        if k == 2:
            return (
                "POINTER(c_int)",
                True,
                self.pick(["POINTER(c_int)()", "pointer(c_int(1))"]),
                True,
            )
        if k == 3:
            return "type(create_string_buffer(1))", False, self.pick(
                ["create_string_buffer(b'ab\\x00c', 8)", "create_unicode_buffer('ab', 5)",
                 "create_string_buffer(0)"]), False  # fmt: skip
        if k == 4:
            return "CFUNCTYPE(c_int, c_int)", True, "CFUNCTYPE(c_int, c_int)(lambda x: x)", False
        t, p = self.ctype()
        is_ptr = t.startswith("POINTER(")
        return t, p, f"{t}()", is_ptr

    # -- families: each returns one line --

    def f_call(self) -> str:
        name, obj = self.pick(API)
        if isinstance(obj, type) and bears_ptr(obj):
            return f"{name}({self.args(ints=False, most=2)})"
        if isinstance(obj, type) and issubclass(obj, _ft._CFuncPtr):
            return f"{name}({self.args(ints=False, most=2)})"
        kw = ""
        if self.chance(0.1):
            kw = f", {self.pick(['x', 'mode', 'dtype', 'shape', 'handle2'])}={self.value().src}"
        a = self.args()
        return f"{name}({a}{kw if a else kw[2:]})"

    def f_construct(self) -> str:
        t, p, _, _ = self.subject()
        line = f"T = {t}; o = T({self.args(ints=not p, most=3)})"
        return line + "; " + self.read("o", p, t.startswith("POINTER("))

    def read(self, o: str, p: bool, is_ptr: bool) -> str:
        ops = [f"repr({o})", f"str({o})", f"bytes({o})", f"{o}.value", f"{o}._objects",
               f"{o}._b_base_", f"{o}._b_needsfree_", f"bool({o})", f"len({o})", f"hash({o})",
               f"{o} == {o}", f"__import__('copy').copy({o})", f"{o}.f0", f"{o}.raw",
               f"{o}.contents", f"memoryview({o}).tobytes()", f"memoryview({o}).format",
               f"{o}.__reduce__()", f"pickle.loads(pickle.dumps({o}))", f"sizeof({o})",
               f"{o}[{self.pointer_key() if is_ptr else self.key()}]", f"np.asarray({o})",
               f"type({o}).from_buffer_copy({o})", f"{o}.__ctypes_from_outparam__()"]  # fmt: skip
        if not is_ptr or self.strict:
            ops += [f"list(itertools.islice(iter({o}), 100))", f"{o}[:]", f"{o}[::-1]"]
        return self.pick(ops)

    def f_instance(self) -> str:
        t, p, inst, is_ptr = self.subject()
        line = f"o = {inst}"
        for _ in range(self.r.randrange(1, 4)):
            k = self.r.randrange(9)
            v = self.value(0, ints=not p).src
            attr = self.pick(["value", "f0", "f1", "raw", "contents", "_objects", "_b_base_",
                              "_type_", "x", "__class__", "argtypes", "restype", "errcheck"])  # fmt: skip
            if k == 0:
                line += f"; {self.read('o', p, is_ptr)}"
            elif k == 1:
                key = self.pointer_key() if is_ptr else self.key()
                if p and not self.strict and not key.lstrip("-").isdigit():
                    # a slice assignment iterates its value: bytes and buffers give integers
                    v = f"[{', '.join(self.instance_value().src for _ in range(self.r.randrange(4)))}]"
                line += f"; o[{key}] = {v}"
            elif k == 2:
                if attr == "contents" and not self.strict:
                    v = self.instance_value().src  # a pointer aimed at a real object
                line += f"; o.{attr} = {v}"
            elif k == 3:
                line += f"; del o.{attr}" if self.chance(0.5) else f"; del o[{self.key()}]"
            elif k == 4:
                line += f"; o.__init__({self.args(ints=not p, most=3)})"
            elif k == 5:
                state = "bytes(64)" if p else self.pick(["b'\\x01'*64", "b''", "bytes(range(256))"])
                d = self.pick(["{}", "None", "{1: 2}", "o.__dict__"])
                b = self.pick([state, "None", "5", "memoryview(b'')"])
                line += f"; o.__setstate__({d}, {b})"
            elif k == 6:
                line += f"; resize(o, {self.size()})"
            elif k == 7:
                line += (
                    f"; byref(o, {self.size()})"
                    if self.chance(0.5)
                    else f"; {self.pick(['pointer', 'addressof', 'alignment', 'sizeof'])}(o)"
                )
            else:
                line += f"; m = memoryview(o); {self.read('o', p, is_ptr)}"
        return line

    def zero_or_any_buffer(self, p: bool) -> str:
        n = self.pick([0, 1, 4, 8, 16, 64, 4096])
        if p:
            return self.pick([f"bytearray({n})", f"bytes({n})", f"np.zeros({n}, np.uint8)",
                              f"memoryview(bytearray({n}))[::2]", f"(c_char * {n})()"])  # fmt: skip
        return self.pick([f"bytearray(b'\\xff' * {n})", f"bytes(range(256)) * {n // 16 + 1}",
                          f"np.full({n}, 0x41, np.uint8)", self.buffer_value().src,
                          self.instance_value().src, self.value().src])  # fmt: skip

    def f_class(self) -> str:
        t, p, _, is_ptr = self.subject()
        k = self.r.randrange(10)
        if k < 3:
            meth = self.pick(["from_buffer", "from_buffer_copy"])
            extra = f", {self.size()}" if self.chance(0.5) else ""
            line = f"T = {t}; x = T.{meth}({self.zero_or_any_buffer(p)}{extra})"
            return line + f"; {self.read('x', p, is_ptr)}"
        if k == 3:
            return f"T = {t}; T.from_param({self.value().src})"
        if k == 4:
            st = self.pick(SIMPLE_PLAIN)
            lib = self.pick(["CDLL(None)", "CDLL('libc.so.6')", "None", "5", "'libc.so.6'",
                             "object()", "C", "pydll"])  # fmt: skip
            nm = self.pick(["'abs'", "'environ'", "''", "'\\x00'", "'x' * 5000", "b'abs'", "None",
                            "5", "'stdout'", "'no_such_symbol'"])  # fmt: skip
            return f"x = {st}.in_dll({lib}, {nm}); repr(x.value)"
        if k == 5:
            return f"T = {t}; T * {self.size()}"
        if k == 6:
            return f"T = {t}; {self.pick(['POINTER(T)', 'pickle.dumps(T)', 'T.__ctype_be__', 'repr(T)', 'sizeof(T)', 'alignment(T)', 'T._type_', 'T._length_', 'T._fields_', 'T.__mro__', 'type(T)(T)'])}"  # noqa: E501
        if k == 7:
            attr = self.pick(["_fields_", "_type_", "_length_", "_pack_", "_anonymous_", "_align_",
                              "_layout_", "_flags_", "_restype_", "_argtypes_", "from_param",
                              "__ctype_be__", "_swappedbytes_"])  # fmt: skip
            v = self.value().src if not p else self.value(ints=False).src
            return f"T = type('Sub', ({t},), {{}}); T.{attr} = {v}; T()"
        if k == 8:
            state = "bytes(64)" if p else "bytes(range(64))"
            st = self.pick([f"({{}}, {state})", "None", "({}, None)", "(1, 2, 3)", "({}, b'')",
                            f"({{1: 2}}, {state})"])  # fmt: skip
            return f"T = {t}; o = _ctypes._unpickle(T, {st}); {self.read('o', p, is_ptr)}"
        return f"T = {t}; o = T(); o2 = T.from_buffer(o); resize(o, {self.size()}); {self.read('o2', p, is_ptr)}"  # noqa: E501

    def fields(self) -> str:
        k = self.r.randrange(10)
        if k < 5:
            out = []
            for i in range(self.r.randrange(0, 4)):
                t, _ = self.ctype(1, plain=not self.strict)
                name = self.pick([f"'f{i}'", f"'f{i}'", f"'f{i}'", "''", "'f0'", "b'f'", "5",
                                  "'\\x00'", "'_fields_'", "'value'"])  # fmt: skip
                shape = self.r.randrange(6)
                if shape == 0:
                    out.append(
                        f"({name}, {t}, {self.pick(['0', '1', '-1', '2**64', '65', '1.5', 'None', '8', '33'])})"
                    )  # noqa: E501
                elif shape == 1:
                    out.append(f"({name},)")
                elif shape == 2:
                    out.append(f"({name}, {self.value().src})")
                else:
                    out.append(f"({name}, {t})")
            return f"[{', '.join(out)}]"
        return self.pick(["None", "5", "'f0'", "[('f0', c_int)] * 1000", "(('f0', c_int),)",
                          "iter([('f0', c_int)])", "pointer(c_int(1))", "[None]", "[[]]",
                          "{'f0': c_int}", "[('f0', c_int, 2, 3)]", "itertools.repeat(('a', c_int))",
                          "[('f0', POINTER(c_int))]", "(c_int * 2)()", "[('a', c_int)] * 10**5",
                          self.odd_object().src])  # fmt: skip

    def f_struct(self) -> str:
        base = self.pick(
            BASES + NAMED_STRUCTS + ["type('B', (Structure,), {'_fields_': [('b', c_int)]})"]
        )
        d = [f"'_fields_': {self.fields()}"] if self.chance(0.8) else []
        for attr in ("_pack_", "_align_", "_anonymous_", "_layout_", "_swappedbytes_"):
            if self.chance(0.2):
                v = self.pick(["0", "1", "3", "-1", "2**64", "2**31", "None", "'x'", "1.5", "['f0']",
                               "'ms'", "'gcc-sysv'", "('f0', 'f0')", "pointer(c_int(1))", "[5]"])  # fmt: skip
                d.append(f"'{attr}': {v}")
        line = f"S = type('S', ({base},), {{{', '.join(d)}}})"
        for _ in range(self.r.randrange(0, 3)):
            k = self.r.randrange(6)
            if k == 0:
                line += f"; S._fields_ = {self.fields()}"
            elif k == 1:
                line += f"; o = S({self.args(ints=not self.strict and False, most=3)})"
            elif k == 2:
                line += f"; {self.pick(['sizeof(S)', 'alignment(S)', 'S.f0', 'repr(S.f0)', 'memoryview(S()).format', 'S * 3', 'POINTER(S)', 'pickle.loads(pickle.dumps(S()))', 'S.__ctype_be__', 'S()._objects', 'S.f0.offset', 'S.f0.size'])}"  # noqa: E501
            elif k == 3:
                line += f"; o = S(); {self.read('o', True, False)}"
            elif k == 4:
                line += f"; o = S(); o.f0 = {self.value(ints=False).src}"
            else:
                line += "; P = POINTER(S); S._fields_ = [('n', P), ('v', c_int)]; o = S(); o.n = pointer(o); o.n[0].v"  # noqa: E501
        return line

    def f_funcptr(self) -> str:
        k = self.r.randrange(7)
        plain_r = self.pick([*CORE_PLAIN, "None", "c_void_p", "int", "lambda r: 1/0",
                             "lambda r: r", "'x'", "5", "object"])  # fmt: skip
        if k <= 1:
            fn = self.pick(["labs", "abs", "llabs", "toupper", "getpid"])
            line = f"f = CDLL(None).{fn}"
            if self.chance(0.7):
                at = self.pick([f"[{', '.join(self.ctype(1)[0] for _ in range(self.r.randrange(4)))}]",
                                "None", "5", "[5]", "(c_int,) * 1025", "itertools.count()", "'x'",
                                "[c_int, None]", "(t for t in [c_int])", "[c_int] * 10**5",
                                self.odd_object().src])  # fmt: skip
                line += f"; f.argtypes = {at}"
            if self.chance(0.5):
                line += f"; f.restype = {plain_r}"
            if self.chance(0.3):
                line += f"; f.errcheck = {self.pick(['lambda r, f, a: ' + self.value().src, '5', 'None', 'lambda: 0', 'lambda r, f, a: 1/0'])}"  # noqa: E501
            return line + f"; f({self.args()})"
        if k == 2:
            pf = self.pick(["((1, 'x'),)", "((2, 'x'),)", "((1, 'x', 5),)", "((5,),)", "((1,), (1,))",
                            "'abc'", "None", "((1, 2**64),)", "((1, 'x', 1/0),)", "(('1', 'x'),)",
                            "((1, None, 'y'),)", "((4, 'x'),)", "[()]", "((3, 'x'),)"])  # fmt: skip
            at = self.pick(["c_long", "POINTER(c_long)", "c_char_p", "c_double"])
            call = self.pick([f"f({self.args(most=2)})", f"f(x={self.value().src})", "f()",
                              f"f({self.value().src}, x={self.value().src})"])  # fmt: skip
            return f"f = CFUNCTYPE(c_long, {at})(('labs', CDLL(None)), {pf}); {call}"
        if k == 3:
            argts = [self.pick([*SIMPLE_PLAIN, "c_void_p"]) for _ in range(self.r.randrange(4))]
            res = self.pick([*SIMPLE, "None", "wintypes.RECT", "c_void_p"])
            # an int returned for an address type is an int address (raw)
            ret = self.value(ints=res not in SIMPLE_PTR).src if self.chance(0.8) else "1/0"
            args = ", ".join(
                self.value(0, ints=True).src
                for _ in range(len(argts) + self.pick([0, 0, 0, 1, -1]))
            )
            return (f"cb = CFUNCTYPE({res}, {', '.join(argts)})(lambda *a: {ret}); "
                    f"{self.pick(['', 'repr'])}(cb({args}))")  # fmt: skip
        if k == 4:
            ret = self.pick(["x[0] - y[0]", "None", "1/0", "2**64", "'x'", "x", "c_int(1)", "1.5",
                             "-(2**31) - 1", "x.contents", "sys.exit(0)", "y[0] and 1/0"])  # fmt: skip
            return ("a = (c_int * 4)(4, 1, 3, 2); CDLL(None).qsort(a, 4, 4, CFUNCTYPE(c_int, "
                    f"POINTER(c_int), POINTER(c_int))(lambda x, y: {ret})); list(a)")  # fmt: skip
        if k == 5:
            ft = self.pick(["CFUNCTYPE", "PYFUNCTYPE", "C.CFUNCTYPE"])
            line = f"F = {ft}({self.args(most=3)})"
            a = self.pick([self.value(ints=False).src, "lambda: 0", "", "('labs', CDLL(None))",
                           "('nope', CDLL(None))", "(5, CDLL(None))"])  # fmt: skip
            return line + f"; F({a})"
        return self.pick(["CFUNCTYPE(c_int)()()", "repr(CFUNCTYPE(c_int)())",
                          "pickle.dumps(CFUNCTYPE(c_int)(lambda: 1))", "bool(CFUNCTYPE(c_int)())",
                          "CFUNCTYPE(c_int)(lambda: 1)._objects", "CDLL(None).labs.__name__",
                          "f = CDLL(None).labs; f.argtypes = [c_long]; f.argtypes = None; f(1, 2)"])  # fmt: skip

    def np_array(self) -> str:
        return self.pick([
            "np.zeros(3)", "np.zeros((2, 3), np.int32)", "np.zeros(3, object)", "np.zeros(3, 'U3')",
            "np.zeros(3, 'M8[s]')", "np.zeros(2, [('a', 'i4'), ('b', 'f8')])", "np.zeros(())",
            "np.zeros(6)[::2]", "np.zeros((2, 3)).T", "np.broadcast_to(np.zeros(1), (10**6,))",
            "np.zeros(0)", "np.zeros(3, '>i4')", "np.zeros(3, np.complex128)", "np.zeros(3, np.float16)",
            "np.frombuffer(b'abcd', np.uint8)", "np.zeros((0, 5))", "np.zeros(3, 'S2')",
            "np.zeros(2, [('a', 'i4', (2,))])", "np.zeros(3, np.bool_)", "np.zeros(3, np.longdouble)",
        ])  # fmt: skip

    def f_ctypeslib(self) -> str:
        k = self.r.randrange(6)
        dt = self.pick(["None", "np.int32", "'i4'", "np.float64", "object", "'U3'", "'>i4'",
                        "[('a', 'i4'), ('b', 'f8')]", "5", "'x'", "np.dtype('M8[s]')", "c_int",
                        "np.dtype((np.int32, (2, 3)))", "[('a', 'i4')] * 3"])  # fmt: skip
        if k == 0:
            kw = [
                f"{n}={self.pick([self.value().src, 'None', '1', '(2, 3)', dt, 'C_CONTIGUOUS'])}"
                for n in ("dtype", "ndim", "shape", "flags")
                if self.chance(0.5)
            ]
            kw = [x.replace("C_CONTIGUOUS", "'C_CONTIGUOUS'") for x in kw]
            line = f"P = ctypeslib.ndpointer({', '.join(kw)})"
            return line + f"; P.from_param({self.pick([self.np_array(), self.value().src])})"
        if k == 1:
            return f"x = ctypeslib.as_ctypes({self.pick([self.np_array(), self.value().src])}); repr(x)"
        if k == 2:
            return f"ctypeslib.as_ctypes_type({dt})"
        if k == 3:
            v = self.value().src
            if v.startswith("type('Ln'"):
                v = "None"  # NumPy's own np.asarray iterates such an object forever (stdlib too)
            obj = self.pick(["(c_int * 4)()", "c_double()", "wintypes.RECT()", "(c_int * 2 * 3)()",
                             v, "create_string_buffer(8)"])  # fmt: skip
            if self.strict:
                obj = self.pick([obj, "pointer(c_int(1))", "POINTER(c_int)()"])
            shape = self.pick(["None", "(2,)", "(10**6,)", "-1", "(2, 2)", "()", "(2**62, 2**62)",
                               "5", "'x'", "(1.5,)"])  # fmt: skip
            return f"a = ctypeslib.as_array({obj}, {shape}); repr(a)"
        if k == 4:
            return f"ctypeslib.load_library({self.value().src}, {self.value().src})"
        return f"x = ctypeslib.as_ctypes({self.np_array()}); ctypeslib.as_array(x); np.asarray(x)"

    def sized(self):
        """An object of known size (bytes) that may be written: (source, size)."""
        n = self.pick([0, 1, 4, 8, 16])
        return self.pick([(f"create_string_buffer({n})", n), (f"(c_int * {n})()", 4 * n),
                          ("c_int()", 4), ("c_double()", 8), ("wintypes.RECT()", 16)])  # fmt: skip

    def f_raw(self) -> str:
        """cast, memmove, memset, string_at, wstring_at, on objects (never int addresses)."""
        k = self.r.randrange(5)
        if k == 0:
            src = self.pick([self.instance_value().src, self.buffer_value().src, "b'abc'", "'abc'",
                             "None", self.odd_object(ints=False).src, self.foreign_value().src])  # fmt: skip
            if self.strict:
                tgt = self.pick(["c_void_p", "c_char_p", "c_wchar_p", f"POINTER({self.ctype(1)[0]})",
                                 "py_object", "c_int", "5", "None"])  # fmt: skip
                op = self.pick(["r[0]", "r.contents", "r.value", f"r[{self.key()}]", "repr(r)"])
            else:
                # py_object: an object read from memory written as another type (strict mode)
                tgt = self.pick(["c_void_p", f"POINTER({self.pick(SIMPLE_PLAIN)})", "c_int", "5",
                                 "None", "c_char_p"])  # fmt: skip
                op = self.pick(["repr(r)", "bool(r)", "r._objects", "type(r)"])
            return f"r = cast({src}, {tgt}); {op}"
        dst, n = self.sized()
        if self.strict:
            cnt = self.pick([self.size(), "-1", "-2", "2**40", "2**62", "2**64", str(n + 1)])
        else:
            cnt = str(self.r.randrange(0, n + 1))
            if self.chance(0.3):
                cnt = self.pick(
                    ["2**64", "-(2**64)", "None", "1.5", self.odd_object(ints=False).src]
                )
            elif k in (3, 4) and self.chance(0.3):
                # past the object, but too large to allocate: must fail before reading
                cnt = self.pick(["2**40", "2**62", "2**63 - 1", "-2"])
        if k == 1:
            src = self.pick([f"bytes({n})", dst, "b'x' * 64", "'abc'"])  # None is NULL: raw
            return f"memmove({dst}, {src}, {cnt})"
        if k == 2:
            c = self.pick([self.int_src(), "None", "b'a'", "1.5"])
            return f"d = {dst}; memset(d, {c}, {cnt}); bytes(d)"
        if k == 3:
            return f"string_at({dst}, {cnt})"
        wcnt = cnt if not cnt.isdigit() else str(int(cnt) // 4)
        return f"wstring_at({dst}, {wcnt})"

    def f_cdll(self) -> str:
        name = self.pick(["None", "''", "'libc.so.6'", "'libm.so.6'", "'/nonexistent'", "'\\x00'",
                          "'x' * 5000", "b'libc.so.6'", "5", "'/'", "'/dev/zero'", "'.'",
                          self.odd_object().src, "'libc.so.6\\x00junk'", "['libc.so.6']"])  # fmt: skip
        k = self.r.randrange(5)
        if k == 0:
            kw = [f"{n}={self.value().src}" for n in ("mode", "use_errno", "use_last_error", "winmode")
                  if self.chance(0.3)]  # fmt: skip
            line = f"L = {self.pick(['CDLL', 'PyDLL', 'C.CDLL'])}({', '.join([name, *kw])})"
            attr = self.pick(["'labs'", "'_x'", "'__x'", "''", "'\\x00'", "'x' * 5000", "5",
                              "'_name'", "'_handle'", "'__getattr__'"])  # fmt: skip
            return (
                line
                + f"; {self.pick([f'getattr(L, {attr})', f'L[{attr}]', f'L[{self.int_src()}]', 'repr(L)', 'L._name'])}"
            )  # noqa: E501
        if k == 1:
            return f"cdll.LoadLibrary({name})"
        if k == 2:
            return f"getattr(cdll, {name})"
        if k == 3:
            return f"_ctypes.dlopen({name}, {self.value().src})"
        return f"util.find_library({name})"

    FAMILIES = [("call", 20), ("construct", 12), ("instance", 16), ("class", 12), ("struct", 12),
                ("funcptr", 10), ("ctypeslib", 6), ("raw", 6), ("cdll", 3)]  # fmt: skip


def make_input(seed: int, index: int, strict: bool = False) -> tuple[str, str]:
    """The input (family, one line of Python) numbered ``index`` of the run ``seed``."""
    rng = random.Random(f"{seed}:{index}")
    g = Gen(rng, strict)
    names = [f for f, _ in Gen.FAMILIES]
    family = rng.choices(names, weights=[w for _, w in Gen.FAMILIES])[0]
    return family, getattr(g, f"f_{family}")()
