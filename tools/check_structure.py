#!/usr/bin/env python3
"""Check the module structure of the extension crate (crates/ferrotype-py/src).

The crate is layered, lowest first: ``capi`` (the boundary with CPython and PyO3 internals),
``model`` (type information, instances, errors), ``codec`` (Python <-> C values), ``types`` (one
module per Python class) and ``api`` (module-level functions), with ``lib.rs`` (the #[pymodule])
on top. Four rules are enforced:

1. Boundary. Outside ``capi/`` (lib.rs included) no code names ``pyo3::ffi`` (as a path, in a
   ``use pyo3::{ffi, ...}`` group or as ``use pyo3::ffi as X``), ``pyo3::impl_`` or ``pyo3_ffi``,
   and there is no ``extern "C" { ... }`` block and no ``extern "C" fn`` definition: raw slots
   and foreign declarations live in capi, so a CPython (or PyO3) upgrade is an audit of one
   directory. Function-pointer *types* (``extern "C" fn(...)``) are allowed anywhere.
2. Layers go down. A module may use ``crate::X`` (also through ``super::``/``self::`` paths and
   2018-style paths starting with a child module) only if X is its own layer or a lower one, so
   the crate can be read bottom-up. Every module must be in a layer: a top-level file other than
   lib.rs is an error. Naming an item of the crate root from a layer counts as going up.
3. No import cycles between module files. Edges are the crate paths a file uses, resolved to
   the longest prefix that is a module file. ``mod child;`` and ``pub use child::...``
   re-exports (a directory facade re-exporting what it contains) are containment and make no
   edge; everything else does, including a child using its parent through ``super::``. Each
   cycle closed by a back edge of a depth-first search is printed (removing those edges breaks
   every cycle), then every strongly connected component.

4. Versions in one place. Outside ``capi/`` no code tests the interpreter's version
   (``cfg(Py_3_x)``, ``cfg!(Py_3_x)``, ``py.version_info()``): it reads a constant of
   ``capi/version.rs``. In the Python package (``--python``, default ``python/ferrotype``) only
   ``_version.py`` mentions ``sys.version_info``. The type stubs (``.pyi``) are exempt: type
   checkers read only ``sys.version_info`` guards there, and cannot evaluate ``_version``'s
   flags, so each stub states per version what that version's ferrotype provides.
5. Unsafe blocks argued. In every crate under ``crates/``, each ``unsafe {`` block has a
   ``// SAFETY:`` comment on its line or within the three lines above it, so the argument is
   read with the block, not found a screen away. (A public ``unsafe fn`` without a
   ``# Safety`` section is clippy's ``missing_safety_doc``, denied by ``make lint``.)

Comments, doc comments, string, raw-string and char literals are blanked before matching.
Not handled: ``#[path]`` attributes, ``macro_rules!`` hygiene, and names brought into scope by
globs or aliases (``use super::*; child::x`` is resolved only if ``child`` is a child module).

Usage: python tools/check_structure.py [--root crates/ferrotype-py/src] [--python DIR]
Prints one ``path:line: message`` per violation and exits 1, or a one-line summary and exits 0.
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
from pathlib import Path

LAYERS = ("capi", "model", "codec", "types", "api")  # lowest first; lib.rs is above them all
BOUNDARY = "capi"  # the only layer allowed to touch CPython/PyO3 internals
DEFAULT_ROOT = "crates/ferrotype-py/src"
DEFAULT_PYTHON = "python/ferrotype"

Module = tuple[str, ...]  # () is the crate root (lib.rs)

RAW_STR = re.compile(r'[bc]?r(#*)"')
CHAR = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]*\}|.)|[^'\\\n])'")
USE = re.compile(r"(?P<vis>\bpub\b\s*(?:\([^)]*\))?\s*)?\buse\b(?P<tree>[^;]*);")
VIS_IN = re.compile(r"\bpub\s*\(\s*in\b[^)]*\)")  # pub(in crate::x) names an ancestor, no import
USE_TOKEN = re.compile(r"::|[{},*]|\w+")
PATH = re.compile(r"(?<![\w$:])\w+(?:\s*::\s*\w+)+(?P<bang>\s*!(?!=))?")
PYO3_FFI = re.compile(r"\bpyo3_ffi\b")
EXTERN = re.compile(r'\bextern\s*(?P<abi>"[^"\n]*"\s*)?(?:(?P<block>\{)|fn\s+[\w$])')
INLINE_MOD = re.compile(r"\bmod\s+(\w+)\s*$")  # before a "{"
VERSION_GATE = re.compile(r"\bPy_3_\d+\b|\.\s*version_info\s*\(")
PY_VERSION_TEST = re.compile(r"\bversion_info\b")
PY_VERSION_MODULE = "_version.py"  # the Python layer's version switch
UNSAFE_BLOCK = re.compile(r"\bunsafe\s*\{")
SAFETY_WINDOW = 3  # lines above an `unsafe {` that may hold its `// SAFETY:` comment


def check_unsafe(path: Path, shown: str, violations: set[tuple[str, int, str]]) -> None:
    """Rule 5 for one file: every `unsafe {` argued right above it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, text in enumerate(lines):
        code = text.split("//", 1)[0]
        if UNSAFE_BLOCK.search(code):
            window = lines[max(0, i - SAFETY_WINDOW) : i + 1]
            if not any("SAFETY:" in w for w in window):
                message = "`unsafe {` without a `// SAFETY:` comment right above"
                violations.add((shown, i + 1, message))


def strip_code(src: str) -> str:
    """Blank comments and the contents of string and char literals, keeping offsets and lines."""
    out = list(src)

    def blank(start: int, end: int) -> None:
        for k in range(start, min(end, len(src))):
            if out[k] != "\n":
                out[k] = " "

    i, n = 0, len(src)
    while i < n:
        c = src[i]
        raw = RAW_STR.match(src, i) if c in "bcr" else None
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                step = src[j : j + 2]
                depth += (step == "/*") - (step == "*/")
                j += 2 if step in ("/*", "*/") else 1
            blank(i, j)
            i = j
        elif raw and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            close = '"' + raw.group(1)
            j = src.find(close, raw.end())
            j = n if j < 0 else j
            blank(raw.end(), j)
            i = j + len(close)
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "'" and (m := CHAR.match(src, i)):  # 'x', '\n', '"'; not a lifetime like 'py
            blank(i + 1, m.end() - 1)
            i = m.end()
        else:
            i += 1
    return "".join(out)


def module_of(rel: Path) -> Module:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "mod" or parts == ["lib"]:
        parts.pop()
    return tuple(parts)


def name(mod: Module) -> str:
    return "::".join(mod) or "crate"


def expand_use(tree: str, base: int) -> list[tuple[list[str], int]]:
    """Expand a use tree into full paths, each with the offset of its last token."""
    toks = [(m.group(), base + m.start()) for m in USE_TOKEN.finditer(tree)]
    pos = 0

    def parse(prefix: list[str]) -> list[tuple[list[str], int]]:
        nonlocal pos
        path, at = list(prefix), base
        if toks[pos][0] == "::":  # leading :: (an external crate)
            pos += 1
        while True:
            tok, at = toks[pos]
            pos += 1
            if tok == "{":
                found = []
                while toks[pos][0] != "}":
                    found += parse(path)
                    if toks[pos][0] == ",":
                        pos += 1
                pos += 1
                return found
            if tok != "*" and not (tok == "self" and path):  # a::{self} is a itself
                path.append(tok)
            if pos < len(toks) and toks[pos][0] == "as":
                pos += 2
            if pos < len(toks) and toks[pos][0] == "::":
                pos += 1
                continue
            return [(path, at)]

    try:
        return parse([])
    except IndexError:  # malformed (or macro-generated) use: keep nothing
        return []


class Crate:
    def __init__(self, root: Path, shown: Path | None = None) -> None:
        self.root, self.shown = root, shown or root
        self.files = {module_of(p.relative_to(root)): p for p in sorted(root.rglob("*.rs"))}
        self.violations: set[tuple[str, int, str]] = set()
        self.edges: dict[tuple[Module, Module], tuple[Path, int]] = {}

    def report(self, path: Path, line: int, message: str) -> None:
        self.violations.add((str(self.shown / path.relative_to(self.root)), line, message))

    def layer(self, mod: Module) -> int | None:
        if not mod:
            return len(LAYERS)
        return LAYERS.index(mod[0]) if mod[0] in LAYERS else None

    def target(self, path: Module) -> Module:
        """The longest prefix of `path` that is a module file."""
        while path and path not in self.files:
            path = path[:-1]
        return path

    def resolve(self, segs: list[str], here: Module) -> Module | None:
        head = segs[0]
        if head == "crate":
            return tuple(segs[1:])
        if head in ("self", "super"):
            while segs and segs[0] in ("self", "super"):
                here = here[:-1] if segs[0] == "super" else here
                segs = segs[1:]
            return here + tuple(segs)
        if here + (head,) in self.files:  # 2018 path starting with a child module
            return here + tuple(segs)
        return None  # an external crate or an item in scope

    def check_file(self, mod: Module, path: Path) -> None:
        src = path.read_text(encoding="utf-8")
        code = strip_code(src)
        starts = [0] + [m.end() for m in re.finditer("\n", code)]

        def line(offset: int) -> int:
            return bisect.bisect_right(starts, offset)

        # Inline `mod name { ... }` blocks change what self:: and super:: mean.
        scopes: list[tuple[int, int, str]] = []
        stack: list[tuple[int, str | None]] = []
        for m in re.finditer(r"[{}]", code):
            if m.group() == "{":
                inline = INLINE_MOD.search(code[max(0, m.start() - 100) : m.start()])
                stack.append((m.start(), inline.group(1) if inline else None))
            elif stack:
                start, inline_name = stack.pop()
                if inline_name:
                    scopes.append((start, m.end(), inline_name))

        def here(offset: int) -> Module:
            return mod + tuple(n for s, e, n in sorted(scopes) if s < offset < e)

        refs: list[tuple[list[str], int, bool, bool]] = []  # segments, offset, re-export, macro
        masked = list(code)
        for m in USE.finditer(code):
            reexport = bool(m.group("vis"))
            for segs, at in expand_use(m.group("tree"), m.start("tree")):
                refs.append((segs, at, reexport, False))
            masked[m.start() : m.end()] = " " * (m.end() - m.start())
        for m in VIS_IN.finditer(code):
            masked[m.start() : m.end()] = " " * (m.end() - m.start())
        rest = "".join(masked)
        for m in PATH.finditer(rest):
            segs = [s.strip() for s in m.group().rstrip("! \n\t").split("::")]
            refs.append((segs, m.start(), False, bool(m.group("bang"))))

        outside = not mod or mod[0] != BOUNDARY
        my_layer = self.layer(mod)
        for segs, at, reexport, macro in refs:
            if outside and (segs[:2] in (["pyo3", "ffi"], ["pyo3", "impl_"])):
                self.report(path, line(at), f"{'::'.join(segs[:2])} outside {BOUNDARY}/")
            absolute = self.resolve(segs, here(at)) if segs else None
            if absolute is None:
                continue
            top = absolute[0] if absolute else None
            if top in LAYERS:
                their_layer = LAYERS.index(top)
            elif top is not None and (top,) in self.files:
                their_layer = None  # a stray module, reported on its own
            else:
                their_layer = None if macro else len(LAYERS)  # exported macros live at the root
            dest = self.target(absolute)
            if my_layer is not None and their_layer is not None and their_layer > my_layer:
                if their_layer < len(LAYERS):
                    why = f"{name(dest) if dest else top}: layer {top} is above {mod[0]}"
                else:
                    why = f"crate::{top}, not in a layer module: lib.rs is above every layer"
                self.report(path, line(at), f"{name(mod)} uses {why}")
            contained = reexport and dest[: len(mod)] == mod and len(dest) > len(mod)
            if dest != mod and not contained:
                self.edges.setdefault((mod, dest), (path, line(at)))

        if outside:
            for m in VERSION_GATE.finditer(code):
                self.report(
                    path,
                    line(m.start()),
                    f"version test outside {BOUNDARY}/: read a constant of {BOUNDARY}/version.rs",
                )
            for m in PYO3_FFI.finditer(code):
                self.report(path, line(m.start()), f"pyo3_ffi outside {BOUNDARY}/")
            for m in EXTERN.finditer(code):
                abi = src[m.start("abi") : m.end("abi")].strip() if m.group("abi") else '"C"'
                if abi != '"Rust"':
                    what = "block: foreign declarations" if m.group("block") else "fn: raw slots"
                    self.report(path, line(m.start()), f"extern {abi} {what} belong in {BOUNDARY}/")
        if mod and my_layer is None:
            self.report(path, 1, f"module {name(mod)} is not in a layer ({', '.join(LAYERS)})")

    def check_cycles(self) -> None:
        graph: dict[Module, list[Module]] = {m: [] for m in self.files}
        for a, b in sorted(self.edges):
            graph[a].append(b)
        color: dict[Module, int] = {}  # 1 on the stack, 2 done
        stack: list[Module] = []

        def dfs(u: Module) -> None:
            color[u] = 1
            stack.append(u)
            for v in graph[u]:
                if color.get(v) == 1:
                    cycle = stack[stack.index(v) :] + [v]
                    path, ln = self.edges[(u, v)]
                    self.report(path, ln, "import cycle: " + " -> ".join(map(name, cycle)))
                elif v not in color:
                    dfs(v)
            stack.pop()
            color[u] = 2

        for u in sorted(graph):
            if u not in color:
                dfs(u)

        index: dict[Module, int] = {}
        low: dict[Module, int] = {}
        on: list[Module] = []
        sccs: list[list[Module]] = []

        def tarjan(u: Module) -> None:  # strongly connected components
            index[u] = low[u] = len(index)
            on.append(u)
            for v in graph[u]:
                if v not in index:
                    tarjan(v)
                    low[u] = min(low[u], low[v])
                elif v in on:
                    low[u] = min(low[u], index[v])
            if low[u] == index[u]:
                comp = []
                while not comp or comp[-1] != u:
                    comp.append(on.pop())
                if len(comp) > 1:
                    sccs.append(sorted(comp))

        for u in sorted(graph):
            if u not in index:
                tarjan(u)
        for comp in sccs:
            members = ", ".join(map(name, comp))
            msg = f"strongly connected component of {len(comp)} modules: {members}"
            self.report(self.files[comp[0]], 1, msg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help=f"the crate's src/ (default {DEFAULT_ROOT})")
    parser.add_argument(
        "--python", type=Path, help=f"the Python package (default {DEFAULT_PYTHON})"
    )
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parent.parent
    root, shown = (args.root, args.root) if args.root else (repo / DEFAULT_ROOT, Path(DEFAULT_ROOT))
    if not (root / "lib.rs").is_file():
        print(f"{root}: no lib.rs", file=sys.stderr)
        return 2
    sys.setrecursionlimit(10_000)
    crate = Crate(root, shown)
    for mod, path in crate.files.items():
        crate.check_file(mod, path)
    crate.check_cycles()
    package = args.python if args.python else repo / DEFAULT_PYTHON
    # `*.py` only: the `.pyi` stubs use `sys.version_info` guards (see rule 4 above).
    for path in sorted(package.glob("*.py")) if package.is_dir() else []:
        if path.name == PY_VERSION_MODULE:
            continue
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PY_VERSION_TEST.search(text.split("#", 1)[0]):
                message = f"version test outside {PY_VERSION_MODULE}: add a flag there"
                crate.violations.add((str(path), n, message))
    crates_dir = repo / "crates"
    for path in sorted(crates_dir.rglob("*.rs")):
        if "target" in path.parts:
            continue
        check_unsafe(path, str(path.relative_to(repo)), crate.violations)
    if crate.violations:
        for path, ln, message in sorted(crate.violations):
            print(f"{path}:{ln}: {message}")
        print(f"{len(crate.violations)} violations", file=sys.stderr)
        return 1
    print(f"{len(crate.files)} modules, {len(crate.edges)} edges, no cycles, boundary clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
