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
    # One finding of each rule set the project promises (pyproject.toml), each planted where the gate must see it.
    "line_length": '"""Too long."""\n\nTEXT = "' + "x" * 112 + '"\n',  # 121 characters: one over the limit
    "imports": '"""Unsorted."""\n\nimport sys\nimport os\n\nNAMES = (os.name, sys.platform)\n',
    "bugbear": (
        '"""Mutable default."""\n\n\ndef add(item: int, items: list[int] = []) -> list[int]:\n'
        "    return [*items, item]\n"
    ),
    "pyupgrade": (
        '"""Old typing."""\n\nfrom typing import List\n\n\ndef first(items: List[int]) -> int:\n    return items[0]\n'
    ),
    "security": '"""Eval."""\n\n\ndef run(text: str) -> object:\n    return eval(text)\n',
    "simplify": (
        '"""Needless branch."""\n\n\ndef positive(value: int) -> bool:\n'
        "    if value > 0:\n        return True\n    else:\n        return False\n"
    ),
    "ruff_specific": '"""Concatenation."""\n\nFIRST = [1]\nBOTH = FIRST + [2]\n',
    "pytest_style": (
        '"""Broad raises."""\n\nimport pytest\n\n\ndef test_it() -> None:\n'
        "    with pytest.raises(Exception):\n        int('x')\n"
    ),
    "django": (
        '"""A model without __str__."""\n\nfrom django.db import models\n\n\nclass Note(models.Model):\n'
        "    text = models.TextField()\n\n    class Meta:\n        app_label = 'exportjobs'\n"
    ),
    "unused_argument": '"""Unused."""\n\n\ndef double(value: int, unused: int) -> int:\n    return 2 * value\n',
    "complexity": (  # one branch more than the ceiling (pyproject.toml: mccabe.max-complexity)
        '"""Too many branches."""\n\n\ndef kind(value: int) -> int:\n'
        + "".join(f"    if value == {n}:\n        return {n}\n" for n in range(17))
        + "    return -1\n"
    ),
    "django_typing": (  # the django-stubs plugin knows the model's fields
        '"""A field that does not exist."""\n\nfrom django.contrib.auth.models import User\n\n\n'
        "def first() -> User:\n    return User.objects.get(no_such_field=1)\n"
    ),
}
# What each gate says about its planted finding: the finding is caught for the reason its name gives.
SAYS = {
    "lint": "F401",
    "format": "would be reformatted",
    "typing": "no-untyped-def",
    "line_length": "E501",
    "imports": "I001",
    "bugbear": "B006",
    "pyupgrade": "UP035",
    "security": "S307",
    "simplify": "SIM103",
    "ruff_specific": "RUF005",
    "pytest_style": "PT011",
    "django": "DJ008",
    "django_typing": "Cannot resolve keyword 'no_such_field'",
    "unused_argument": "ARG001",
    "complexity": "C901",
}
# A line of exactly 120 characters is allowed.
LONGEST = '"""Long enough."""\n\nTEXT = "' + "x" * 111 + '"\n'


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
    path = tmp_path / f"planted_{finding}.py"
    path.write_text(FINDINGS[finding])
    result = make_lint(str(path))
    assert result.returncode != 0, f"make lint passed a file with a {finding} finding"
    said = result.stdout + result.stderr
    assert str(path.name) in said
    assert SAYS[finding] in said, said[-2000:]


@pytest.mark.slow
def test_a_line_of_120_characters_passes_the_gates(tmp_path):
    path = tmp_path / "longest.py"
    path.write_text(LONGEST)
    assert max(len(line) for line in LONGEST.splitlines()) == 120
    result = make_lint(str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_test_runs_the_gates_before_the_suite():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    commands = result.stdout.splitlines()
    steps = [
        next(i for i, line in enumerate(commands) if marker in line)
        for marker in ("ruff check", "ruff format --check", "mypy", "pytest")
    ]
    assert steps == sorted(steps), commands
