"""``ferrotype.check_layout()``: a structure or union type held against the C compiler.

A probe program is written for the C type: it prints ``sizeof`` and ``_Alignof`` of the
type, the ``offsetof``, ``sizeof`` and type alignment of every member that is not a
bit-field (nested members by their path, ``hdr.len``; members of an ``_anonymous_`` member
by their own names, as C reaches them; members of a base class as members of the
structure), and, for every bit-field, the bytes of a zeroed object after all ones were
written to the field (which bits changed is where the compiler put it). The system C
compiler (``$CC``, else ``cc``) builds it, the program runs, and every fact is compared
with ferrotype's layout.

A member the C type does not have is reported (the compiler's error on its line names
it) and the rest are still checked. A member the C type has and the ferrotype type lacks
shows as different offsets and sizes.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._ctypes import Array, Structure, Union
from ._inspect import FieldLayout, Layout, _is_type, layout

__all__ = ["CCompilerError", "Difference", "LayoutMismatch", "LayoutReport", "check_layout"]


class CCompilerError(RuntimeError):
    """The C compiler is missing, or the probe did not compile or run.

    ``command`` is the command run, ``stderr`` the compiler's (or the program's) message,
    ``source`` the probe's C source.
    """

    def __init__(self, message: str, command: list[str], stderr: str, source: str) -> None:
        super().__init__(message)
        self.command = command
        self.stderr = stderr
        self.source = source


@dataclass(frozen=True)
class Difference:
    """One fact on which ferrotype and the C compiler disagree.

    ``what`` is the fact (``"sizeof"``, ``"_Alignof"``, ``"offsetof"``, ``"sizeof member"``,
    ``"alignment of member type"``, ``"bit-field bits"`` or ``"member"``), ``member`` the
    member's path (``""`` for the type itself), ``ferrotype`` and ``c`` the two values.
    """

    what: str
    member: str
    ferrotype: Any
    c: Any

    def __str__(self) -> str:
        where = f"{self.member}: " if self.member else ""
        return f"{where}{self.what}: ferrotype {self.ferrotype}, C {self.c}"


class LayoutReport:
    """What ``check_layout`` found: falsy when ferrotype and the compiler agree.

    ``differences`` lists every :class:`Difference`; ``checked`` is the number of facts
    compared; ``source`` the probe's C source.
    """

    def __init__(
        self, t: Any, ctype: str, differences: list[Difference], checked: int, source: str
    ) -> None:
        self.type = t
        self.ctype = ctype
        self.differences = tuple(differences)
        self.checked = checked
        self.source = source

    def __bool__(self) -> bool:
        return bool(self.differences)

    def __len__(self) -> int:
        return len(self.differences)

    def __iter__(self) -> Iterator[Difference]:
        return iter(self.differences)

    def __str__(self) -> str:
        name = getattr(self.type, "__name__", repr(self.type))
        if not self.differences:
            return f"{name} matches {self.ctype} ({self.checked} facts checked)"
        lines = [
            f"{name} differs from {self.ctype} in {len(self.differences)} of {self.checked} facts:"
        ]
        lines += [f"  {d}" for d in self.differences]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LayoutReport {self.ctype}: {len(self.differences)} differences>"


class LayoutMismatch(AssertionError):
    """Raised by ``check_layout(..., raises=True)`` when the layouts differ; ``report`` is the
    :class:`LayoutReport`."""

    def __init__(self, report: LayoutReport) -> None:
        super().__init__(str(report))
        self.report = report


# ---- the probe ----------------------------------------------------------------------------------


@dataclass
class _Member:
    """A member as C names it, with ferrotype's facts."""

    cpath: str  # the C member designator: hdr.len, u.arr[0].x
    field: FieldLayout
    offset: int  # absolute offset (of the storage unit, for a bit-field)


def _members(lay: Layout, prefix: str = "", offset: int = 0) -> Iterator[_Member]:
    """Every member of ``lay`` with its C designator (``prefix`` ends in ``.`` or is empty)."""
    if lay.base is not None:
        yield from _members(lay.base, prefix, offset)
    for f in lay.fields:
        path = f"{prefix}{f.name}"
        if not f.anonymous:
            # C has no name for an anonymous member; its members are reached directly
            yield _Member(path, f, offset + f.offset)
        if f.bit_size is not None:
            continue
        t, first = f.type, path
        while _is_type(t, Array):
            # an array of structures: the first element stands for all (one type)
            t, first = getattr(t, "_type_", None), f"{first}[0]"
        if _is_type(t, (Structure, Union)):
            inner = prefix if f.anonymous else f"{first}."
            yield from _members(layout(t), inner, offset + f.offset)


def _probe(ctype: str, members: list[_Member], prelude: str) -> tuple[str, dict[int, int]]:
    """The probe's source, and for each line that names a member, the member's index."""
    lines = [
        *prelude.splitlines(),
        "#include <stdio.h>",
        "#include <stddef.h>",
        "#include <string.h>",
        f"typedef {ctype} ft_probe_t;",
        "static void ft_dump(const char *tag, const void *p, size_t n) {",
        "    const unsigned char *b = p;",
        '    printf("%s", tag);',
        '    for (size_t i = 0; i < n; i++) if (b[i]) printf(" %zu:%u", i, b[i]);',
        '    printf("\\n");',
        "}",
        "int main(void) {",
        '    printf("type %zu %zu\\n", sizeof(ft_probe_t), _Alignof(ft_probe_t));',
        "    static ft_probe_t v;",
    ]
    owners: dict[int, int] = {}
    for i, m in enumerate(members):
        if m.field.bit_size is None and _is_flexible(m.field.type):
            # A flexible array member (`T x[]`, ferrotype's `T * 0`): C has no `sizeof`
            # for it; its size is 0 and its alignment its element's.
            line = (
                f'    printf("m{i} %zu 0 %zu\\n", offsetof(ft_probe_t, {m.cpath}), '
                f"_Alignof(__typeof__(v.{m.cpath}[0])));"
            )
        elif m.field.bit_size is None:
            line = (
                f'    printf("m{i} %zu %zu %zu\\n", offsetof(ft_probe_t, {m.cpath}), '
                f"sizeof(v.{m.cpath}), _Alignof(__typeof__(v.{m.cpath})));"
            )
        else:
            line = f'    memset(&v, 0, sizeof v); v.{m.cpath} = -1; ft_dump("m{i}", &v, sizeof v);'
        owners[len(lines) + 1] = i  # line numbers count from 1
        lines.append(line)
    lines += ["    return 0;", "}", ""]
    return "\n".join(lines), owners


def _is_flexible(t: Any) -> bool:
    """Whether ``t`` is an array type of length 0 (how a flexible array member binds)."""
    return getattr(t, "_length_", None) == 0 and hasattr(t, "_type_")


def _first_lines(text: str, n: int = 12) -> str:
    lines = text.strip().splitlines()
    more = f"\n... ({len(lines) - n} more lines in .stderr)" if len(lines) > n else ""
    return "\n".join(lines[:n]) + more


def _compiler() -> str:
    cc = os.environ.get("CC", "cc")
    found = shutil.which(cc)
    if found is None:
        raise CCompilerError(
            f"no C compiler: {cc!r} is not on PATH (set $CC to choose one)", [cc], "", ""
        )
    return found


_ERROR_LINE = re.compile(r"^[^\n:]*probe\.c:(\d+):(?:\d+:)? (?:fatal )?error:", re.M)


def _bits(m: _Member) -> dict[int, int]:
    """Ferrotype's bits of a bit-field, as ``{byte: mask}`` over the whole object."""
    f = m.field
    shift = (m.offset - f.offset) * 8
    a, b = f.bit_span()
    out: dict[int, int] = {}
    for i in range(a + shift, b + shift):
        byte, k = divmod(i, 8)
        bit = 7 - k if f.big_endian else k
        out[byte] = out.get(byte, 0) | (1 << bit)
    return out


def _fmt_bits(bits: dict[int, int]) -> str:
    if not bits:
        return "none"
    return ", ".join(f"byte {k} mask 0x{v:02x}" for k, v in sorted(bits.items()))


def check_layout(
    t: Any,
    ctype: str,
    *,
    header: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None = None,
    source: str | None = None,
    cflags: Iterable[str] = (),
    raises: bool = False,
) -> LayoutReport:
    """Hold the layout of the ferrotype structure or union ``t`` against the C compiler's
    layout of the C type ``ctype`` (``"struct stat"``, ``"z_stream"``, ``"union u"``).

    The type is declared by ``header`` (a header name for ``#include <...>``, a path to a
    file, or several of them) and/or ``source`` (C text, after the headers); ``cflags`` are
    passed to the compiler (``-I``, ``-D``, ``-m32``...). The compiler is ``$CC`` or ``cc``; the
    probe runs under ``$FERROTYPE_RUN`` when it is set (a cross compiler's emulator, such as
    ``qemu-aarch64 -L /sysroot``).

    Compared: ``sizeof`` and ``_Alignof`` of the type; ``offsetof``, ``sizeof`` and type
    alignment of every member that is not a bit-field (nested ones by path); the bits of
    every bit-field, measured by writing all ones into it in a zeroed object.

    Returns a :class:`LayoutReport`, falsy when everything matches; ``str()`` lists the
    differences. With ``raises=True`` a difference raises :class:`LayoutMismatch` instead.

    :raises TypeError: ``t`` is not a structure or union type (or instance), or neither
        ``header`` nor ``source`` is given.
    :raises CCompilerError: no compiler, or the probe does not compile (an unknown type, a
        missing header: the compiler's message is in the exception) or does not run.
    """
    if not isinstance(t, type):
        t = type(t)
    lay = layout(t)
    if lay.kind not in ("struct", "union"):
        raise TypeError(f"check_layout() expects a Structure or Union type, not {lay.name}")
    if header is None and source is None:
        raise TypeError("check_layout() needs header= or source= to declare the C type")
    headers: list[str | os.PathLike[str]]
    if header is None:
        headers = []
    elif isinstance(header, (str, os.PathLike)):
        headers = [header]
    else:
        headers = list(header)
    includes = []
    for h in headers:
        p = Path(h)
        if p.is_file():
            includes.append(f'#include "{p.resolve()}"')
        else:
            includes.append(f"#include <{os.fspath(h)}>")
    prelude = "\n".join(includes + ([source] if source else []))
    cc = _compiler()
    members = list(_members(lay))
    dropped: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="ferrotype-check-") as tmp:
        src = Path(tmp) / "probe.c"
        exe = Path(tmp) / "probe"
        for _ in range(3):
            kept = [i for i in range(len(members)) if i not in dropped]
            text, owners = _probe(ctype, [members[i] for i in kept], prelude)
            src.write_text(text)
            cmd = [cc, "-w", "-o", str(exe), str(src), *cflags]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode == 0:
                break
            failing = {int(n) for n in _ERROR_LINE.findall(proc.stderr)}
            if not failing or any(n not in owners for n in failing):
                raise CCompilerError(
                    f"{os.path.basename(cc)} could not compile the layout probe for "
                    f"{ctype!r}:\n{_first_lines(proc.stderr)}",
                    cmd,
                    proc.stderr,
                    text,
                )
            for n in failing:
                i = kept[owners[n]]
                msgs = re.findall(rf"probe\.c:{n}:(?:\d+:)? (?:fatal )?error: (.*)", proc.stderr)
                dropped[i] = msgs[0] if msgs else "not accepted by the compiler"
        else:
            raise CCompilerError(
                f"the layout probe for {ctype!r} still does not compile:\n{proc.stderr.strip()}",
                cmd,
                proc.stderr,
                text,
            )
        runner = [*shlex.split(os.environ.get("FERROTYPE_RUN", "")), str(exe)]
        run = subprocess.run(runner, capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            raise CCompilerError(
                f"the layout probe for {ctype!r} exited with {run.returncode}:\n{run.stderr}",
                runner,
                run.stderr,
                text,
            )
    return _compare(t, ctype, lay, members, kept, dropped, run.stdout, text, raises)


def _compare(
    t: Any,
    ctype: str,
    lay: Layout,
    members: list[_Member],
    kept: list[int],
    dropped: dict[int, str],
    output: str,
    source: str,
    raises: bool,
) -> LayoutReport:
    diffs: list[Difference] = []
    checked = 0
    lines = {}
    for line in output.splitlines():
        tag, _, rest = line.partition(" ")
        lines[tag] = rest
    size, align = map(int, lines["type"].split())
    for what, mine, theirs in (("sizeof", lay.size, size), ("_Alignof", lay.align, align)):
        checked += 1
        if mine != theirs:
            diffs.append(Difference(what, "", mine, theirs))
    for i, msg in sorted(dropped.items()):
        checked += 1
        diffs.append(Difference("member", members[i].cpath, "present", f"absent ({msg})"))
    for j, i in enumerate(kept):
        m = members[i]
        out = lines.get(f"m{j}", "")
        if m.field.bit_size is None:
            off, msize, malign = map(int, out.split())
            for what, mine, theirs in (
                ("offsetof", m.offset, off),
                ("sizeof member", m.field.size, msize),
                ("alignment of member type", m.field.align, malign),
            ):
                checked += 1
                if mine != theirs:
                    diffs.append(Difference(what, m.cpath, mine, theirs))
        else:
            theirs_bits: dict[int, int] = {}
            for item in out.split():
                k, _, v = item.partition(":")
                theirs_bits[int(k)] = int(v)
            checked += 1
            mine_bits = _bits(m)
            if mine_bits != theirs_bits:
                diffs.append(
                    Difference(
                        "bit-field bits", m.cpath, _fmt_bits(mine_bits), _fmt_bits(theirs_bits)
                    )
                )
    report = LayoutReport(t, ctype, diffs, checked, source)
    if raises and diffs:
        raise LayoutMismatch(report)
    return report
