"""Runs the interpreter's own ctypes test suite (``ctypes/test``, shipped with CPython 3.11)
with ferrotype standing in for ``ctypes``, and prints a JSON report: the modules run, the
tests run, and the ids of the tests that failed or errored (with the last line of the
error), as the last line of its output. Used by ``test_cpython_suite.py`` in a
subprocess, since it replaces ``sys.modules["ctypes"]``.

    python tests/cpython_suite_runner.py            # the whole suite
    python tests/cpython_suite_runner.py test_pointers test_cast
"""

import importlib
import importlib.util
import io
import json
import sys
import unittest
from pathlib import Path


def suite_dir() -> Path | None:
    import ctypes

    d = Path(ctypes.__file__).parent / "test"
    return d if (d / "__init__.py").exists() else None


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(names: list[str]) -> None:
    d = suite_dir()
    if d is None:
        print(json.dumps({"available": False}))
        return
    import ferrotype

    sys.modules["ctypes"] = ferrotype
    sys.modules["ctypes.util"] = importlib.import_module("ferrotype.util")
    ferrotype.test = load("ctypes.test", d / "__init__.py")
    names = names or sorted(p.stem for p in d.glob("test_*.py"))
    report = {"available": True, "modules": [], "missing": {}, "run": 0, "problems": {}}
    for name in names:
        try:
            mod = load(f"ctypes.test.{name}", d / f"{name}.py")
            setattr(ferrotype.test, name, mod)
        except ImportError as exc:
            # Modules for other platforms (macholib, wintypes) that ferrotype does not have.
            report["missing"][name] = f"{type(exc).__name__}: {exc}"
            continue
        suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
        result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
        report["modules"].append(name)
        report["run"] += result.testsRun
        for test, trace in result.failures + result.errors:
            last = trace.strip().splitlines()[-1]
            report["problems"][test.id().removeprefix("ctypes.test.")] = last
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
