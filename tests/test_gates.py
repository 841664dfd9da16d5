"""The gates `make test` runs before the suite: one lint, format or typing finding fails it."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import ROOT

CLEAN = '"""A clean module."""\n\n\ndef double(value: int) -> int:\n    return value * 2\n'
FINDINGS = {
    "lint": '"""Unused import."""\n\nimport os\n\n\ndef double(value: int) -> int:\n    return value * 2\n',
    "format": '"""Badly formatted."""\n\n\ndef double( value : int ) -> int:\n    return value*2\n',
    "typing": '"""Untyped."""\n\n\ndef double(value):\n    return value * 2\n',
}


def make_lint(path: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        ["make", "--no-print-directory", "lint", f"LINT_PATHS={path}", f"TYPE_PATHS={path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_clean_file_passes_the_gates(tmp_path):
    path = tmp_path / "clean.py"
    path.write_text(CLEAN)
    result = make_lint(str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("finding", sorted(FINDINGS))
def test_one_finding_fails_the_gates(tmp_path, finding):
    path = tmp_path / f"{finding}.py"
    path.write_text(FINDINGS[finding])
    result = make_lint(str(path))
    assert result.returncode != 0, f"make lint passed a file with a {finding} finding"
    assert str(path.name) in result.stdout + result.stderr


def test_the_gates_cover_what_the_project_promises():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ruff = config["tool"]["ruff"]
    assert ruff["line-length"] == 120
    assert {"E", "F", "W", "I", "B", "UP", "S", "DJ", "PT", "SIM", "RUF"} <= set(ruff["lint"]["select"])
    mypy = config["tool"]["mypy"]
    assert mypy["strict"] is True
    assert "mypy_django_plugin.main" in mypy["plugins"]
    assert set(mypy["files"]) == {"exportjobs", "dashboard", "deploy"}
    makefile = (ROOT / "Makefile").read_text()
    assert "test: lint" in makefile
