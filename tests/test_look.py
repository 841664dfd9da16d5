"""The look: text colours meet WCAG AA contrast, static files are local, pages are printable."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CSS = (ROOT / "static" / "exportjobs" / "desk.css").read_text()
VARIABLES = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


PAIRS = [
    ("ink", "paper"),
    ("ink", "card"),
    ("ink-soft", "card"),
    ("ink-soft", "paper"),
    ("accent", "card"),
    ("accent-ink", "accent"),
    ("sandbox-ink", "sandbox-bg"),
    *[(f"{tone}-ink", f"{tone}-bg") for tone in ("info", "success", "warning", "danger", "neutral")],
    *[(f"{tone}-ink", "card") for tone in ("success", "warning", "danger")],
    ("ink-soft", "neutral-bg"),
    ("ink", "neutral-bg"),
    # a possibly stuck job's row in the needs-attention list
    ("ink", "warning-bg"),
    ("ink-soft", "warning-bg"),
    ("accent", "warning-bg"),
]


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_colours_meet_wcag_aa_contrast(text, background):
    assert contrast(VARIABLES[text], VARIABLES[background]) >= 4.5


def test_nothing_is_loaded_from_another_site():
    for template in ROOT.glob("templates/**/*.html"):
        assert not re.search(r'(src|href)="(https?:)?//', template.read_text()), template
    assert "@import" not in CSS
    assert "url(http" not in CSS


def test_the_stylesheet_has_a_print_layout_and_a_phone_layout():
    assert "@media print" in CSS
    assert "@media (max-width" in CSS


def test_the_needs_attention_table_becomes_labelled_blocks_on_a_phone_and_prints_without_its_controls():
    phone = CSS[CSS.index("@media (max-width: 40rem)", CSS.index("/* needs attention */")) :]
    assert ".attention-table td::before" in phone
    assert "content: attr(data-label)" in phone
    printed = CSS[CSS.rindex("@media print") :]
    assert ".filters" in printed
    assert ".status-bar .actions" in printed
