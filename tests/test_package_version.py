"""The package's version: one number, written in Cargo.toml, and ctypes' __version__ kept."""

import importlib.metadata
import pathlib
import re
import tomllib

import ferrotype

ROOT = pathlib.Path(__file__).resolve().parent.parent


def cargo_version():
    with open(ROOT / "Cargo.toml", "rb") as fh:
        return tomllib.load(fh)["workspace"]["package"]["version"]


def test_package_version_is_cargos():
    assert ferrotype.__ferrotype_version__ == cargo_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", ferrotype.__ferrotype_version__)


def test_distribution_metadata_has_the_same_version():
    assert importlib.metadata.version("ferrotype") == ferrotype.__ferrotype_version__


def test_pyproject_does_not_write_a_version():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
