"""Tests for tools/check_structure.py, the layering/boundary/cycle checker of the extension crate.

Each test writes a small synthetic crate (a clean layered one, then a change) into tmp_path and
runs the checker on it as a subprocess, the way `make` and CI run it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "check_structure.py"

# A clean crate in the target layout: every layer, a directory facade (types/funcptr) whose
# children use items of the facade, same-layer and downward paths of every spelling.
CLEAN = {
    "lib.rs": """
        mod api;
        mod capi;
        mod codec;
        mod model;
        mod types;

        use pyo3::prelude::*;

        #[pymodule]
        fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_class::<types::simple::Simple>()?;
            capi::slots::install(m.py());
            api::register(m)
        }
    """,
    "capi/mod.rs": """
        //! The boundary: the only place that touches CPython directly.
        pub mod slots;

        use pyo3::ffi;

        extern "C" {
            fn _PyObject_GetDictPtr(obj: *mut ffi::PyObject) -> *mut *mut ffi::PyObject;
        }

        pub unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
            unsafe { pyo3::ffi::Py_DECREF(obj) };
        }
    """,
    "capi/slots.rs": """
        use pyo3::{ffi, prelude::*};

        pub fn install(py: Python<'_>) {
            let _ = unsafe { pyo3::impl_::pymethods::tp_new_impl(py, init, tp) };
        }
    """,
    "model/mod.rs": """
        pub mod cdata;
        pub mod errors;
    """,
    "model/cdata.rs": """
        use crate::capi::slots;
        use super::errors::ArgumentError;

        pub struct CData;
    """,
    "model/errors.rs": """
        pub struct ArgumentError;
    """,
    "codec/mod.rs": """
        pub mod param;
    """,
    "codec/param.rs": """
        use crate::model::cdata::CData;
        use super::super::capi;

        pub fn convert() -> CData {
            crate::model::cdata::CData
        }
    """,
    "types/mod.rs": """
        pub mod funcptr;
        pub mod simple;
    """,
    "types/simple.rs": """
        use crate::{codec::param, model::{cdata::CData, errors}};

        pub struct Simple;
    """,
    "types/funcptr/mod.rs": """
        mod call;
        mod paramflags;
        mod plan;

        pub use call::Call;
        pub(crate) use plan::Plan;
        pub use self::paramflags::Flags;

        pub struct Shared;
    """,
    "types/funcptr/plan.rs": """
        use super::Shared;
        use super::paramflags::Flags;
        use super::super::super::codec::param;

        pub struct Plan(Shared, Flags);
    """,
    "types/funcptr/call.rs": """
        use super::{plan::Plan, Shared};

        pub struct Call(Plan, Shared);

        pub fn call() {
            let _ = crate::codec::param::convert();
            let _ = super::super::simple::Simple;
        }
    """,
    "types/funcptr/paramflags.rs": """
        pub struct Flags;
    """,
    "api/mod.rs": """
        use pyo3::prelude::*;

        use crate::types::funcptr::{Call, Plan};

        pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            Ok(())
        }
    """,
}


def check(tmp_path: Path, changes: dict[str, str | None] | None = None) -> tuple[int, list[str]]:
    """Write CLEAN with `changes` (a None value deletes a file), run the checker.

    Returns the exit status and the output lines with the root directory stripped.
    """
    files = {**CLEAN, **(changes or {})}
    src = tmp_path / "src"
    for rel, text in files.items():
        if text is not None:
            path = src / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    prefix = f"{src}/"
    return proc.returncode, [line.removeprefix(prefix) for line in proc.stdout.splitlines()]


def with_code(rel: str, code: str) -> dict[str, str]:
    """CLEAN's file `rel` with `code` appended (after a blank line)."""
    return {rel: textwrap.dedent(CLEAN[rel]) + "\n" + textwrap.dedent(code)}


def line_of(rel: str, needle: str, changes: dict[str, str]) -> int:
    text = textwrap.dedent(changes[rel]).lstrip("\n")
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_clean_crate_passes(tmp_path: Path) -> None:
    status, out = check(tmp_path)
    assert status == 0, out
    assert len(out) == 1
    assert out[0].startswith("15 modules, ")
    assert out[0].endswith(" edges, no cycles, boundary clean")


# ---- boundary ----------------------------------------------------------------------------------

BOUNDARY_BREAKS = {
    "use": ("use pyo3::ffi;", "pyo3::ffi outside capi/"),
    "use group": ("use pyo3::{ffi, prelude::*};", "pyo3::ffi outside capi/"),
    "nested group": ("use pyo3::{prelude::*, ffi::{PyObject}};", "pyo3::ffi outside capi/"),
    "alias": ("use pyo3::ffi as raw;", "pyo3::ffi outside capi/"),
    "inline path": (
        "pub fn t(x: *mut u8) -> usize { unsafe { pyo3::ffi::Py_TYPE(x.cast()) as usize } }",
        "pyo3::ffi outside capi/",
    ),
    "impl_": (
        "pub fn n() { let _ = unsafe { pyo3::impl_::pymethods::tp_new_impl(py, i, tp) }; }",
        "pyo3::impl_ outside capi/",
    ),
    "pyo3_ffi": ("extern crate pyo3_ffi;", "pyo3_ffi outside capi/"),
    "extern block": (
        'extern "C" { fn _PyObject_GetDictPtr(obj: *mut u8) -> *mut u8; }',
        'extern "C" block: foreign declarations belong in capi/',
    ),
    "extern fn": (
        'unsafe extern "C" fn slot(obj: *mut u8) {}',
        'extern "C" fn: raw slots belong in capi/',
    ),
    "extern fn in a macro": (
        'macro_rules! slot { ($name:ident) => { unsafe extern "C" fn $name() {} }; }',
        'extern "C" fn: raw slots belong in capi/',
    ),
}


@pytest.mark.parametrize("rel", ["model/cdata.rs", "types/funcptr/call.rs", "lib.rs"])
@pytest.mark.parametrize("case", list(BOUNDARY_BREAKS))
def test_boundary_outside_capi_fails(tmp_path: Path, rel: str, case: str) -> None:
    code, message = BOUNDARY_BREAKS[case]
    changes = with_code(rel, code)
    status, out = check(tmp_path, changes)
    assert status == 1
    assert out == [f"{rel}:{line_of(rel, code, changes)}: {message}"]


@pytest.mark.parametrize("rel", ["capi/mod.rs", "capi/slots.rs"])
@pytest.mark.parametrize("case", list(BOUNDARY_BREAKS))
def test_boundary_inside_capi_passes(tmp_path: Path, rel: str, case: str) -> None:
    code, _ = BOUNDARY_BREAKS[case]
    status, out = check(tmp_path, with_code(rel, code))
    assert status == 0, out


def test_comments_and_literals_do_not_count(tmp_path: Path) -> None:
    code = r"""
        //! Inner doc: pyo3::ffi is for capi only; so is extern "C" {.
        // use pyo3::ffi;
        /// Calls pyo3::ffi::Py_TYPE through crate::types::simple.
        /* outer /* nested pyo3::ffi */ still a comment: extern "C" fn x() {} */
        const A: &str = "pyo3::ffi \" extern \"C\" fn x() { crate::api::register";
        const B: &str = r#"use pyo3::ffi; "quoted" extern "C" {"#;
        const C: char = '"';
        const D: &[u8] = b"use pyo3_ffi;";
        const E: &std::ffi::CStr = c"pyo3::impl_";
        fn f<'py>(x: &'py u8) -> char {
            let _ = "use crate::types::simple;";
            '\''
        }
        #[doc = "extern \"C\" { fn x(); }"]
        pub struct Documented;
    """
    status, out = check(tmp_path, with_code("model/cdata.rs", code))
    assert status == 0, out


def test_function_pointer_types_are_allowed(tmp_path: Path) -> None:
    code = 'pub type Slot = Option<unsafe extern "C" fn(*mut u8) -> i32>;'
    status, out = check(tmp_path, with_code("types/simple.rs", code))
    assert status == 0, out


def test_std_ffi_and_fields_named_ffi_are_not_pyo3_ffi(tmp_path: Path) -> None:
    code = """
        use std::ffi::c_int;
        pub struct P { pub ffi: c_int }
        pub fn f(p: P) -> c_int { p.ffi + std::ffi::c_int::MAX }
    """
    status, out = check(tmp_path, with_code("codec/param.rs", code))
    assert status == 0, out


# ---- layers ------------------------------------------------------------------------------------


def test_upward_use_fails(tmp_path: Path) -> None:
    changes = with_code("model/cdata.rs", "use crate::types::simple::Simple;")
    status, out = check(tmp_path, changes)
    assert status == 1
    line = line_of("model/cdata.rs", "types::simple", changes)
    # types::simple uses model::cdata, so going up also closes a cycle.
    assert (
        f"model/cdata.rs:{line}: model::cdata uses types::simple: layer types is above model" in out
    )
    assert f"model/cdata.rs:{line}: import cycle: " in "\n".join(out)


def test_upward_path_in_nested_use_group_fails(tmp_path: Path) -> None:
    code = """
        use crate::{
            model::{cdata::CData, errors},
            types::{funcptr::{Call, Plan}, simple},
        };
    """
    changes = with_code("codec/param.rs", code)
    status, out = check(tmp_path, changes)
    assert status == 1
    line = line_of("codec/param.rs", "types::{", changes)
    assert [line for line in out if " uses " in line] == [
        f"codec/param.rs:{line}: codec::param uses types::funcptr: layer types is above codec",
        f"codec/param.rs:{line}: codec::param uses types::simple: layer types is above codec",
    ]


def test_upward_inline_path_fails(tmp_path: Path) -> None:
    code = "pub fn f() { let _ = crate::api::register; }"
    status, out = check(tmp_path, with_code("types/simple.rs", code))
    assert status == 1
    assert out == ["types/simple.rs:5: types::simple uses api: layer api is above types"]


def test_upward_super_super_path_fails(tmp_path: Path) -> None:
    code = "use super::super::codec::param;"
    status, out = check(tmp_path, with_code("model/cdata.rs", code))
    assert status == 1
    assert "model/cdata.rs:6: model::cdata uses codec::param: layer codec is above model" in out


def test_upward_super_path_from_a_nested_directory_fails(tmp_path: Path) -> None:
    code = "pub fn f() { super::super::super::api::register; }"
    status, out = check(tmp_path, with_code("types/funcptr/plan.rs", code))
    assert status == 1
    assert out == [
        "types/funcptr/plan.rs:7: types::funcptr::plan uses api: layer api is above types"
    ]


def test_items_of_the_crate_root_are_above_every_layer(tmp_path: Path) -> None:
    status, out = check(tmp_path, with_code("model/errors.rs", "use crate::VERSION;"))
    assert status == 1
    assert (
        "model/errors.rs:3: model::errors uses crate::VERSION, not in a layer module: "
        "lib.rs is above every layer"
    ) in out


def test_stray_top_level_file_fails(tmp_path: Path) -> None:
    status, out = check(tmp_path, {"foo.rs": "pub fn helper() {}\n"})
    assert status == 1
    assert out == ["foo.rs:1: module foo is not in a layer (capi, model, codec, types, api)"]


def test_inline_test_module_super_is_the_file(tmp_path: Path) -> None:
    # In model/mod.rs, `super` is the crate root, but inside `mod tests { }` it is model.
    code = """
        #[cfg(test)]
        mod tests {
            use super::*;
            use super::cdata::CData;
        }
    """
    status, out = check(tmp_path, with_code("model/mod.rs", code))
    assert status == 0, out
    status, out = check(tmp_path, with_code("model/mod.rs", "use super::VERSION;"))
    assert status == 1
    assert "lib.rs is above every layer" in out[0]


# ---- cycles ------------------------------------------------------------------------------------


def test_two_file_cycle_in_one_layer_fails(tmp_path: Path) -> None:
    changes = {
        "model/cdata.rs": "use crate::model::errors::ArgumentError;\npub struct CData;\n",
        "model/errors.rs": "use super::cdata::CData;\npub struct ArgumentError;\n",
    }
    status, out = check(tmp_path, changes)
    assert status == 1
    assert out == [
        "model/cdata.rs:1: strongly connected component of 2 modules: model::cdata, model::errors",
        "model/errors.rs:1: import cycle: model::cdata -> model::errors -> model::cdata",
    ]


def test_facade_reexporting_a_child_that_uses_it_passes(tmp_path: Path) -> None:
    changes = {
        "model/mod.rs": "mod a;\npub mod cdata;\npub mod errors;\npub use a::X;\npub struct Y;\n",
        "model/a.rs": "use super::Y;\npub struct X(Y);\n",
    }
    status, out = check(tmp_path, changes)
    assert status == 0, out


@pytest.mark.parametrize(
    "use_of_child",
    ["use a::X;", "use self::a::X;", "pub fn f() { let _ = a::X::new(); }"],
)
def test_parent_importing_from_a_child_that_uses_it_fails(
    tmp_path: Path, use_of_child: str
) -> None:
    changes = {
        "model/mod.rs": f"mod a;\npub mod cdata;\npub mod errors;\n{use_of_child}\npub struct Y;\n",
        "model/a.rs": "use super::Y;\npub struct X(Y);\n",
    }
    status, out = check(tmp_path, changes)
    assert status == 1
    assert out == [
        "model/a.rs:1: import cycle: model -> model::a -> model",
        "model/mod.rs:1: strongly connected component of 2 modules: model, model::a",
    ]


def test_every_cycle_and_the_component_are_reported(tmp_path: Path) -> None:
    changes = {
        "types/mod.rs": "pub mod a;\npub mod b;\npub mod c;\npub mod funcptr;\npub mod simple;\n",
        "types/a.rs": "use super::b::B;\npub struct A;\n",
        "types/b.rs": "use super::{a::A, c::C};\npub struct B;\n",
        "types/c.rs": "use super::a::A;\npub struct C;\n",
    }
    status, out = check(tmp_path, changes)
    assert status == 1
    assert out == [
        "types/a.rs:1: strongly connected component of 3 modules: types::a, types::b, types::c",
        "types/b.rs:1: import cycle: types::a -> types::b -> types::a",
        "types/c.rs:1: import cycle: types::a -> types::b -> types::c -> types::a",
    ]


# ---- rule 4: version tests in one place -----------------------------------------------------


def test_version_gate_in_capi_is_allowed(tmp_path: Path) -> None:
    code = "pub const NEW: bool = cfg!(Py_3_14);\n#[cfg(Py_3_13)]\npub fn f() {}\n"
    status, out = check(tmp_path, with_code("capi/slots.rs", code))
    assert status == 0, out


@pytest.mark.parametrize(
    "code",
    [
        "pub fn f() -> bool { cfg!(Py_3_12) }",
        "#[cfg(Py_3_13)]\npub fn f() {}",
        "pub fn f(py: Python<'_>) -> bool { py.version_info() >= (3, 14) }",
    ],
)
def test_version_gate_outside_capi_is_refused(tmp_path: Path, code: str) -> None:
    status, out = check(tmp_path, with_code("model/cdata.rs", code))
    assert status == 1
    assert any("version test outside capi/" in line for line in out), out


def test_version_gate_in_a_comment_or_string_is_ignored(tmp_path: Path) -> None:
    code = '// cfg!(Py_3_12) in a comment\npub const S: &str = "Py_3_13";\n'
    status, out = check(tmp_path, with_code("model/cdata.rs", code))
    assert status == 0, out


def test_python_version_tests_only_in_the_version_module(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "_version.py").write_text("import sys\nNEW = sys.version_info >= (3, 14)\n")
    (pkg / "ok.py").write_text("from . import _version  # not sys.version_info\n")
    (pkg / "bad.py").write_text("import sys\nif sys.version_info >= (3, 13):\n    pass\n")
    src = tmp_path / "src"
    check(tmp_path)  # writes the clean crate
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(src), "--python", str(pkg)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        f"{pkg / 'bad.py'}:2: version test outside _version.py: add a flag there"
    ]
