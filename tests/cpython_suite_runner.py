"""Runs the interpreter's own ctypes test suite with ferrotype standing in for ``ctypes``
(or, with ``--impl ctypes``, with the stdlib itself, to count what passes there), and prints
a JSON report as the last line of its output: the modules run, the tests run, the ids of the
tests that passed, and the ids of the tests that failed or errored with the last line of the
error. Used by ``test_cpython_suite.py`` in a subprocess, since it replaces
``sys.modules["ctypes"]``.

CPython 3.11 ships the suite as ``ctypes/test``; 3.12 and later as ``test/test_ctypes``.
Test ids are ``module.Class.method`` in both.

    python tests/cpython_suite_runner.py                     # the whole suite, ferrotype
    python tests/cpython_suite_runner.py --impl ctypes       # the whole suite, the stdlib
    python tests/cpython_suite_runner.py test_pointers test_cast
"""

import importlib
import importlib.util
import io
import json
import sys
import unittest
from pathlib import Path


def suite_location() -> tuple[Path, str] | None:
    """The directory of the suite and the package name its modules import under."""
    import ctypes

    old = Path(ctypes.__file__).parent / "test"
    if (old / "__init__.py").exists():
        return old, "ctypes.test"
    try:
        spec = importlib.util.find_spec("test.test_ctypes")
    except ImportError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))), "test.test_ctypes"


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def stand_in() -> None:
    """Make ``import ctypes`` (and its submodules, and ``_ctypes``) give ferrotype's."""
    import ferrotype

    sys.modules["ctypes"] = ferrotype
    for sub in ("util", "_endian", "wintypes"):
        mod = importlib.import_module(f"ferrotype.{sub}")
        sys.modules[f"ctypes.{sub}"] = mod
        setattr(ferrotype, sub, mod)
    sys.modules["_ctypes"] = importlib.import_module("ferrotype._ctypes")


class _Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = []

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test.id())


def main(argv: list[str]) -> None:
    impl = "ferrotype"
    if argv[:1] == ["--impl"]:
        impl, argv = argv[1], argv[2:]
    where = suite_location()
    if where is None:
        print(json.dumps({"available": False}))
        return
    d, package = where
    if impl == "ferrotype":
        stand_in()
    if package == "ctypes.test":
        parent = load(package, d / "__init__.py")
        sys.modules["ctypes"].test = parent
    else:
        parent = importlib.import_module(package)
    names = argv or sorted(p.stem for p in d.glob("test_*.py"))
    report = {
        "available": True,
        "impl": impl,
        "modules": [],
        "missing": {},
        "skipped_modules": {},
        "run": 0,
        "passed": [],
        "problems": {},
    }
    for name in names:
        try:
            mod = load(f"{package}.{name}", d / f"{name}.py")
            setattr(parent, name, mod)
        except unittest.SkipTest as exc:
            # A module for another platform that skips itself (as with the stdlib).
            report["skipped_modules"][name] = str(exc)
            continue
        except Exception as exc:
            # Modules for other platforms (macholib, wintypes) that ferrotype does not have,
            # or a module that fails to import: every test in it counts as not passing.
            report["missing"][name] = f"{type(exc).__name__}: {exc}"
            continue
        suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
        runner = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0, resultclass=_Recorder)
        result = runner.run(suite)
        report["modules"].append(name)
        report["run"] += result.testsRun
        prefix = package + "."
        report["passed"] += [t.removeprefix(prefix) for t in result.passed]
        for test, trace in result.failures + result.errors:
            last = trace.strip().splitlines()[-1]
            # A failing subtest counts against its test (the id the stdlib run passes).
            whole = getattr(test, "test_case", test)
            if whole is not test:
                last = f"{test._subDescription()}: {last}"
            report["problems"].setdefault(whole.id().removeprefix(prefix), last)
        for test, _ in result.unexpectedSuccesses:
            report["problems"][test.id().removeprefix(prefix)] = "unexpected success"
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
