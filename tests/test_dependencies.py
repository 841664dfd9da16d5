"""What is installed is pinned and hashed: the lock files `make lock` writes from requirements*.txt, installed
by `make` with `--require-hashes`, and kept in step with what people edit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>\S+?)(?:\s*;[^\\]*)?\s*\\?$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file (``-r`` lines and comments left out)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            found[canonical(name.split("[")[0])] = version.strip()
    return found


def locked(path: Path) -> dict[str, list[tuple[str, int]]]:
    """Every package of a lock file: its versions (one per Python-version marker) and how many hashes each has."""
    entries: dict[str, list[tuple[str, int]]] = {}
    name = ""
    for line in path.read_text().splitlines():
        if not line or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            match = ENTRY.match(line)
            assert match, f"{path.name}: not an exact pin: {line!r}"
            name = canonical(match["name"])
            entries.setdefault(name, []).append((match["version"], 0))
        elif line.strip().startswith("--hash=sha256:"):
            assert name, line
            version, count = entries[name][-1]
            entries[name][-1] = (version, count + 1)
    return entries


@pytest.mark.parametrize(
    ("edited", "lock"),
    [
        (["requirements.txt"], "requirements.lock"),
        (["requirements.txt", "requirements-dev.txt"], "requirements-dev.lock"),
    ],
)
def test_every_pin_people_edit_is_in_the_lock_at_the_same_version(edited, lock):
    entries = locked(ROOT / lock)
    for name in edited:
        for package, version in pins(ROOT / name).items():
            assert package in entries, f"{package} from {name} is not in {lock}: run `make lock`"
            assert version in [v for v, _ in entries[package]], f"{package}=={version} from {name}: run `make lock`"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_is_pinned_with_its_hashes(lock):
    entries = locked(ROOT / lock)
    assert len(entries) > len(pins(ROOT / "requirements.txt"))  # the transitive ones too
    for package, versions in entries.items():
        assert all(hashes >= 1 for _, hashes in versions), f"{package} has no hash in {lock}"


def test_the_tests_install_the_same_versions_of_what_the_desk_needs():
    runtime = locked(ROOT / "requirements.lock")
    for package, versions in locked(ROOT / "requirements-dev.lock").items():
        if package in runtime:
            assert {v for v, _ in versions} <= {v for v, _ in runtime[package]}, package


def test_make_installs_only_from_the_lock_files_with_their_hashes():
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install [^\n]*-r (\S+)", makefile)
    assert sorted(installs) == ["requirements-dev.lock", "requirements.lock"]
    assert makefile.count("--require-hashes -r requirements") == 2
    assert "--generate-hashes" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "make lock" in readme
