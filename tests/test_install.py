"""``ferrotype.install()`` and ``python -m ferrotype``, end to end in fresh interpreters.

Each test runs a program in a subprocess (``install()`` changes ``sys.modules`` for the
whole process): the stdlib's module names give ferrotype's modules, submodules imported
later too; the warning when ctypes was imported first, naming who holds it; the script
and ``-m`` forms of ``python -m ferrotype`` with their ``sys.argv``, ``sys.path[0]`` and
exit status; NumPy's ctypes support running on ferrotype, and NumPy's own ctypes tests
passing with ferrotype installed.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(args, cwd=None, env=None):
    """Runs ``python *args`` (with the environment's ``FERROTYPE_*`` switched off)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FERROTYPE_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_code(code, **kwargs):
    return run(["-c", textwrap.dedent(code)], **kwargs)


def last_json(proc):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- install() -----------------------------------------------------------------------------

NAMES = {
    "ctypes": "ferrotype",
    "_ctypes": "ferrotype._ctypes",
    "ctypes.util": "ferrotype.util",
    "ctypes.wintypes": "ferrotype.wintypes",
    "ctypes._endian": "ferrotype._endian",
    "ctypes.macholib": "ferrotype.macholib",
    "ctypes.macholib.dyld": "ferrotype.macholib.dyld",
    "ctypes.macholib.dylib": "ferrotype.macholib.dylib",
    "ctypes.macholib.framework": "ferrotype.macholib.framework",
}


def test_install_maps_every_module_name():
    proc = run_code(
        f"""
        import importlib, json, sys, warnings
        warnings.simplefilter("error")
        import ferrotype
        ferrotype.install()
        names = {NAMES!r}
        got = {{}}
        for name, ours in names.items():
            module = importlib.import_module(name)
            got[name] = [module.__name__, module is sys.modules[ours], sys.modules[name] is module]
        import ctypes.macholib.dyld as dyld
        import ctypes
        got["attributes"] = [ctypes.util is ferrotype.util, ctypes.macholib.dyld is dyld]
        print(json.dumps(got))
        """
    )
    got = last_json(proc)
    for name, ours in NAMES.items():
        assert got[name] == [ours, True, True], name
    assert got["attributes"] == [True, True]


def test_install_is_idempotent_and_survives_reimport_and_reload():
    proc = run_code(
        """
        import importlib, json, sys, warnings
        warnings.simplefilter("error")
        import ferrotype
        ferrotype.install()
        ferrotype.install()
        finders = sum(type(f).__name__ == "_CtypesFinder" for f in sys.meta_path)
        del sys.modules["ctypes"], sys.modules["_ctypes"]
        import ctypes, _ctypes
        again = [ctypes is ferrotype, _ctypes is ferrotype._ctypes]
        # ctypes' reload makes new classes, and the module's functions use them
        old_char = ctypes.c_char
        reloaded = importlib.reload(ctypes)
        reload = [
            reloaded is ferrotype,
            sys.modules["ctypes"] is ferrotype,
            ctypes.c_char is not old_char,
            ctypes.create_string_buffer(2)._type_ is ctypes.c_char,
            ctypes.__spec__.name,
        ]
        import ctypes.util
        util = [importlib.reload(ctypes.util) is ferrotype.util, ctypes.util.find_library("c")]
        ns = {}
        exec("from ctypes import *", ns)
        star = [ns["c_int"] is ferrotype.c_int, ns["sizeof"](ns["c_int"]), "install" in ns]
        print(json.dumps([finders, again, reload, util, star]))
        """
    )
    finders, again, reload, util, star = last_json(proc)
    assert finders == 1
    assert again == [True, True]
    assert reload == [True, True, True, True, "ferrotype"]
    import ctypes.util

    assert util == [True, ctypes.util.find_library("c")]
    assert star == [True, ctypes.sizeof(ctypes.c_int), True]


def test_stdlib_submodules_without_counterpart_run_on_ferrotype():
    """A submodule of the stdlib's ctypes package ferrotype does not replace is the
    stdlib's file, importing ferrotype as its ctypes."""
    proc = run_code(
        """
        import json, warnings
        warnings.simplefilter("error")
        import ferrotype
        ferrotype.install()
        import ctypes._aix as aix
        print(json.dumps([aix.__name__, aix.__file__.startswith(ferrotype.__path__[0]),
                          getattr(aix, "c_void_p", ferrotype.c_void_p) is ferrotype.c_void_p]))
        """
    )
    assert last_json(proc) == ["ctypes._aix", False, True]


def test_warns_when_ctypes_was_imported_first():
    proc = run_code(
        """
        import json, warnings
        import ctypes.util
        from ctypes import c_int as stdlib_int
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import ferrotype
            ferrotype.install()
            ferrotype.install()  # nothing new to say
        import ctypes as now
        print(json.dumps([[str(w.category.__name__), str(w.message), w.filename] for w in caught]
                         + [now is ferrotype, stdlib_int.__module__,
                            __import__("sys").modules["ctypes.util"] is ferrotype.util]))
        """
    )
    *warned, now_ours, stdlib_module, util_ours = last_json(proc)
    assert len(warned) == 1
    category, message, filename = warned[0]
    assert category == "RuntimeWarning"
    assert "ctypes was imported before" in message
    assert "by __main__" in message  # the module that holds the stdlib's ctypes
    assert "keep using it" in message
    assert filename == "<string>"  # attributed to the caller of install()
    assert now_ours and util_ours
    assert stdlib_module == "ctypes"


def test_warning_names_the_libraries_that_hold_the_stdlib():
    pytest.importorskip("numpy")
    proc = run_code(
        """
        import json, warnings
        import numpy
        del numpy
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import ferrotype
            ferrotype.install()
        print(json.dumps([str(w.message) for w in caught]))
        """
    )
    (message,) = last_json(proc)
    assert "numpy._core._internal" in message or "numpy.core._internal" in message
    assert "__main__" not in message


def test_stdlib_imported_first_keeps_working():
    """Modules that kept the stdlib's ctypes can still use it (from 3.14, the stdlib's
    structures are laid out by its `ctypes._layout`, which must stay the stdlib's)."""
    proc = run_code(
        """
        import json, warnings
        import ctypes as stdlib
        warnings.simplefilter("ignore")
        import ferrotype
        ferrotype.install()

        class Point(stdlib.Structure):
            _fields_ = [("x", stdlib.c_int), ("y", stdlib.c_double)]

        import ctypes
        class Ours(ctypes.Structure):
            _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]

        p = Point(1, 2.5)
        print(json.dumps([stdlib.sizeof(Point), p.x, p.y, type(Ours).__module__]))
        """
    )
    import ctypes

    assert last_json(proc) == [ctypes.sizeof(ctypes.c_double) * 2, 1, 2.5, "ferrotype._ctypes"]


# ---- python -m ferrotype ----------------------------------------------------------------------

PROGRAM = """
import json, os, sys
import ctypes, _ctypes, ctypes.util
print(json.dumps({
    "argv": sys.argv,
    "path0": sys.path[0],
    "name": __name__,
    "ctypes": ctypes.__name__,
    "_ctypes": _ctypes.__name__,
    "util": ctypes.util.__name__,
}))
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


@pytest.fixture
def program(tmp_path):
    pkg = tmp_path / "prog"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text(PROGRAM)
    (pkg / "__main__.py").write_text(PROGRAM)
    (tmp_path / "script.py").write_text(PROGRAM)
    return tmp_path


def test_script_form(program, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    proc = run(["-m", "ferrotype", "../script.py", "a", "--b"], cwd=other)
    got = last_json(proc)
    assert got == {
        "argv": ["../script.py", "a", "--b"],
        "path0": str(program.resolve()),
        "name": "__main__",
        "ctypes": "ferrotype",
        "_ctypes": "ferrotype._ctypes",
        "util": "ferrotype.util",
    }
    direct = last_json(run(["../script.py", "a", "--b"], cwd=other))
    assert direct["argv"] == got["argv"] and direct["path0"] == got["path0"]
    assert direct["ctypes"] == "ctypes"


@pytest.mark.parametrize("module", ["prog.main", "prog"])
def test_module_form(program, module):
    proc = run(["-m", "ferrotype", "-m", module, "x", "-y"], cwd=program)
    got = last_json(proc)
    direct = last_json(run(["-m", module, "x", "-y"], cwd=program))
    assert got["argv"] == direct["argv"]
    assert got["argv"][0].endswith(("main.py", "__main__.py")) and got["argv"][1:] == ["x", "-y"]
    assert got["path0"] == direct["path0"] == str(program)
    assert got["name"] == "__main__"
    assert (got["ctypes"], got["_ctypes"], got["util"]) == (
        "ferrotype",
        "ferrotype._ctypes",
        "ferrotype.util",
    )


@pytest.mark.parametrize("form", [["script.py"], ["-m", "prog.main"]])
def test_exit_status(program, form):
    for status in (0, 3):
        proc = run(["-m", "ferrotype", *form], cwd=program, env={"EXIT_WITH": str(status)})
        assert proc.returncode == status, proc.stderr
    (program / "boom.py").write_text("raise KeyError('boom')\n")
    proc = run(["-m", "ferrotype", "boom.py"], cwd=program)
    assert proc.returncode == 1 and "KeyError: 'boom'" in proc.stderr


def test_errors_finding_the_program(tmp_path):
    missing = run(["-m", "ferrotype", "missing.py"], cwd=tmp_path)
    direct = run(["missing.py"], cwd=tmp_path)
    assert missing.returncode == direct.returncode == 2
    assert missing.stderr.partition(": ")[2] == direct.stderr.partition(": ")[2]

    no_module = run(["-m", "ferrotype", "-m", "no_such_module_here"], cwd=tmp_path)
    direct = run(["-m", "no_such_module_here"], cwd=tmp_path)
    assert no_module.returncode == direct.returncode == 1
    assert no_module.stderr.partition(": ")[2] == direct.stderr.partition(": ")[2]

    usage = run(["-m", "ferrotype"], cwd=tmp_path)
    assert usage.returncode == 2 and "usage: python -m ferrotype" in usage.stderr


# ---- NumPy on ferrotype ----------------------------------------------------------------------


def test_numpy_ctypes_support_runs_on_ferrotype(tmp_path):
    pytest.importorskip("numpy")
    script = tmp_path / "np_program.py"
    script.write_text(
        textwrap.dedent(
            """
            import json
            import ctypes
            import numpy as np

            a = np.arange(6.0)
            p = a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
            p[1] = 10.0
            as_array = np.ctypeslib.as_array(p, (6,))
            c_arr = np.ctypeslib.as_ctypes(a)
            back = np.ctypeslib.as_array(c_arr)
            nd = np.ctypeslib.ndpointer(np.float64, ndim=1, flags="C")
            nd.from_param(a)
            class U(ctypes.Union):
                _fields_ = [("i", ctypes.c_int), ("d", ctypes.c_double)]
            try:
                np.dtype(ctypes.pointer(ctypes.c_int()))
            except TypeError as exc:
                pointer_error = str(exc)
            print(json.dumps({
                "ctypes": ctypes.__name__,
                "data": type(a.ctypes._as_parameter_).__module__,
                "pointer": type(p).__mro__[-2].__module__,
                "p1": a[1],
                "as_array": as_array.tolist(),
                "as_ctypes": [type(c_arr).__mro__[-2].__module__, list(c_arr)],
                "back": bool(back.base is not None and back[1] == 10.0),
                "shape": list(a.ctypes.shape_as(ctypes.c_long)),
                "union": str(np.dtype(U())),
                "pointer_error": pointer_error,
            }))
            """
        )
    )
    got = last_json(run(["-m", "ferrotype", str(script)]))
    assert got["ctypes"] == "ferrotype"
    assert got["data"] == "ferrotype"
    assert got["pointer"] == got["as_ctypes"][0] == "ferrotype._ctypes"
    assert got["p1"] == 10.0
    assert got["as_array"] == [0.0, 10.0, 2.0, 3.0, 4.0, 5.0]
    assert got["as_ctypes"][1] == got["as_array"]
    assert got["back"] is True
    assert got["shape"] == [6]
    assert got["pointer_error"] == "ctypes pointers have no dtype equivalent"


# NumPy's own tests that use ctypes: numpy.tests.test_ctypeslib, and those in
# numpy/_core/tests (the dtype conversion, the buffer protocol, `arr.ctypes`, ...).
NUMPY_CORE_TESTS = [
    "_core/tests/test_dtype.py::TestFromCTypes",
    "_core/tests/test_multiarray.py",
    "_core/tests/test_regression.py::TestRegression::test_to_ctypes",
    "_core/tests/test_ufunc.py::TestLowlevelAPIAccess::test_loop_access",
    "_core/tests/test_deprecations.py::TestCtypesGetter",
]
# In test_multiarray.py, the tests that use ctypes (selected by name).
NUMPY_SELECTION = (
    "ctypes or CTypes or FromCTypes or test_ctypeslib or loop_access or deepcopy "
    "or object_with_NULLs or error_pointer_type or error_message_unsupported "
    "or view_assign or view_discard_refcount or not_writable_attributes_deletion"
)

PLUGIN = """
import ctypes, _ctypes, ferrotype
import numpy._core._internal as internal

def pytest_configure(config):
    # NumPy's tests must see ferrotype as ctypes, NumPy's internals too.
    assert ctypes is ferrotype and _ctypes is ferrotype._ctypes
    assert internal.ctypes is ferrotype

def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("ran with ctypes = " + ctypes.__name__)
"""


def test_numpy_ctypes_tests_pass_with_ferrotype_installed(tmp_path):
    numpy = pytest.importorskip("numpy")
    tests = Path(numpy.__file__).parent
    if not (tests / "tests" / "test_ctypeslib.py").exists():
        pytest.skip("NumPy installed without its tests")
    (tmp_path / "ferrotype_check.py").write_text(PLUGIN)
    args = [
        "-m",
        "ferrotype",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "ferrotype_check",
        # a deprecation of pytest's own, in how NumPy's test module parametrizes
        "-W",
        "ignore::pytest.PytestRemovedIn10Warning",
        # NumPy's tests declare `_pack_` without `_layout_`, which 3.14's ctypes (and
        # so ferrotype) deprecates; NumPy's settings make the warning an error, and
        # those tests fail with the stdlib too.
        "-W",
        "ignore:Due to '_pack_':DeprecationWarning",
        "-k",
        NUMPY_SELECTION,
        str(tests / "tests" / "test_ctypeslib.py"),
        *(str(tests / name) for name in NUMPY_CORE_TESTS),
    ]
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = run(args, cwd=tmp_path, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "ran with ctypes = ferrotype" in output
    assert " passed" in output and " failed" not in output and " error" not in output
