"""The API reference (docs/reference/) has an entry for every public name of ferrotype and
ferrotype._ctypes on the running interpreter, so a new name cannot go undocumented."""

import pathlib
import types

import ferrotype
import ferrotype._ctypes
import pytest

REFERENCE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "reference"


def public(module):
    return {
        n
        for n in dir(module)
        if not n.startswith("_") and not isinstance(getattr(module, n), types.ModuleType)
    }


@pytest.mark.parametrize(
    ("module", "page"), [(ferrotype, "ferrotype.md"), (ferrotype._ctypes, "_ctypes.md")]
)
def test_every_public_name_has_an_entry(module, page):
    text = (REFERENCE / page).read_text()
    missing = {
        n
        for n in public(module)
        if f"::: {module.__name__}.{n}\n" not in text and f"### `{n}`\n" not in text
    }
    assert not missing, f"{page} has no entry for {sorted(missing)}"
