"""``ferrotype.macholib`` (dyld's path logic) gives the stdlib's ``ctypes.macholib``
answers on the same inputs: file names parsed as dylibs and frameworks (Hypothesis over
path-like strings), and dyld's search over a directory tree with the environment
variables set in every combination.

Skipped where the interpreter ships ctypes without macholib (Debian's 3.14 and 3.15).
"""

import itertools
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

std_dyld = pytest.importorskip("ctypes.macholib.dyld")
std_dylib = pytest.importorskip("ctypes.macholib.dylib")
std_framework = pytest.importorskip("ctypes.macholib.framework")

from ferrotype.macholib import dyld, dylib, framework  # noqa: E402

PIECES = [
    "lib",
    "foo",
    "Foo",
    "Python",
    "_",
    ".",
    "/",
    "dylib",
    ".dylib",
    ".framework/",
    "Versions/",
    "A",
    "3.11",
    "_debug",
    "x",
    "é",
    " ",
    "\n",
    "",
    "Current/",
]

paths = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=10).map("".join),
    st.text(alphabet="ab_./Fdylibfrmewok\n9é", max_size=30),
)

KNOWN = [
    "libfoo.dylib",
    "/usr/lib/libfoo.A.dylib",
    "/usr/lib/libfoo_debug.dylib",
    "/usr/lib/libfoo.A_debug.dylib",
    "a/b.c/.dylib",
    "a_b_c.dylib",
    "Python.framework/Python",
    "/Library/Frameworks/Python.framework/Versions/3.11/Python",
    "/Library/Frameworks/Python.framework/Versions/3.11/Python_debug",
    "Python.framework/Python_debug",
    "x/Foo.framework/Bar",
    "completely/unrelated",
    "",
]


@pytest.mark.parametrize("path", KNOWN)
def test_known_paths(path):
    assert dylib.dylib_info(path) == std_dylib.dylib_info(path)
    assert framework.framework_info(path) == std_framework.framework_info(path)


@settings(max_examples=400, deadline=None)
@given(paths)
def test_parsing_matches_the_stdlib(path):
    assert dylib.dylib_info(path) == std_dylib.dylib_info(path)
    assert framework.framework_info(path) == std_framework.framework_info(path)


def test_module_contents_match():
    assert dyld.__all__ == std_dyld.__all__
    assert dylib.__all__ == std_dylib.__all__
    assert framework.__all__ == std_framework.__all__
    assert dyld.DEFAULT_FRAMEWORK_FALLBACK == std_dyld.DEFAULT_FRAMEWORK_FALLBACK
    assert dyld.DEFAULT_LIBRARY_FALLBACK == std_dyld.DEFAULT_LIBRARY_FALLBACK


@pytest.fixture
def tree(tmp_path):
    """Libraries and frameworks in a few directories."""
    files = [
        "fw/Python.framework/Python",
        "fw/Python.framework/Versions/3.11/Python",
        "fw2/Tk.framework/Tk_debug",
        "lib/libfoo.dylib",
        "lib/libfoo_debug.dylib",
        "lib2/libbar.1.dylib",
        "exe/libexe.dylib",
        "fallback/libfall.dylib",
        "fallback/Fall.framework/Fall",
    ]
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return tmp_path


def outcome(function, *args, **kwargs):
    try:
        return ("ok", function(*args, **kwargs))
    except ValueError as exc:
        return ("ValueError", str(exc))


def environments(root):
    values = {
        "DYLD_FRAMEWORK_PATH": [None, f"{root}/fw:{root}/fw2"],
        "DYLD_LIBRARY_PATH": [None, f"{root}/lib2:{root}/lib"],
        "DYLD_FALLBACK_FRAMEWORK_PATH": [None, f"{root}/fallback"],
        "DYLD_FALLBACK_LIBRARY_PATH": [None, f"{root}/fallback:{root}/nowhere"],
        "DYLD_IMAGE_SUFFIX": [None, "_debug"],
    }
    for combination in itertools.product(*values.values()):
        yield {k: v for k, v in zip(values, combination, strict=True) if v is not None}


def test_dyld_search_matches_the_stdlib(tree):
    names = [
        "libfoo.dylib",
        "/elsewhere/libbar.1.dylib",
        "Python.framework/Python",
        "/System/Python.framework/Versions/3.11/Python",
        "Tk.framework/Tk",
        "@executable_path/libexe.dylib",
        "libfall.dylib",
        "Fall.framework/Fall",
        "libnothere.dylib",
        str(tree / "lib" / "libfoo.dylib"),
    ]
    for env in environments(tree):
        for name in names:
            for exe in (None, str(tree / "exe")):
                ours = outcome(dyld.dyld_find, name, executable_path=exe, env=env)
                theirs = outcome(std_dyld.dyld_find, name, executable_path=exe, env=env)
                assert ours == theirs, (name, exe, env)
                ours = list(dyld.dyld_default_search(name, env))
                assert ours == list(std_dyld.dyld_default_search(name, env))
                ours = list(dyld.dyld_override_search(name, env))
                assert ours == list(std_dyld.dyld_override_search(name, env))


def test_framework_find_matches_the_stdlib(tree):
    env = {
        "DYLD_FRAMEWORK_PATH": str(tree / "fw"),
        "DYLD_FALLBACK_FRAMEWORK_PATH": str(tree / "fw"),
    }
    for name in [
        "Python",
        "Python.framework",
        "Python.framework/Versions/3.11",
        "Nope",
        str(tree / "fw" / "Python.framework"),
    ]:
        ours = outcome(dyld.framework_find, name, env=env)
        assert ours == outcome(std_dyld.framework_find, name, env=env), name


def test_environment_defaults_to_os_environ(monkeypatch, tree):
    monkeypatch.setenv("DYLD_LIBRARY_PATH", f"{tree}/lib")
    monkeypatch.setenv("DYLD_IMAGE_SUFFIX", "_debug")
    assert dyld.dyld_library_path() == std_dyld.dyld_library_path() == [f"{tree}/lib"]
    assert dyld.dyld_image_suffix() == "_debug"
    assert dyld.dyld_find("libfoo.dylib") == std_dyld.dyld_find("libfoo.dylib")
    assert os.path.basename(dyld.dyld_find("libfoo.dylib")) == "libfoo_debug.dylib"
