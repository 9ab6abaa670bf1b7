"""`make bench` end to end, in its quick smoke mode: every benchmark script runs for real (tiny inputs) and
bench/collect.py writes a docs/BENCHMARKS.md-shaped file with a table of figures per benchmark and the targets.
Timings are never asserted: they depend on the machine; only that each figure was measured."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = (
    "Video: real-time factor and peak RSS by resolution and length",
    "Voice: real-time factor",
    "Face classifier: time a face",
    "API latency under load",
    "Worker scaling",
    "Against the original pipeline",
    "Annotated video",
    "Start-up",
    "Every option on",
    "Active speaker: which face speaks",
    "Real recordings: level, unheard corpora, films",
    "Voice emotion per person in a conversation",
)
TARGETS = ("video peak RSS", "voice, 10 min", "face classifier", "API status latency", "worker scaling",
           "original pipeline", "whole processes", "CLI start to end", "file opens per analysis",
           "time added to the face pass", "voice by recording level", "voice emotion per person")  # fmt: skip
NUMBER = re.compile(r"\d+(\.\d+)?")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, str]:
    output = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    done = subprocess.run([sys.executable, "bench/collect.py", "--quick", "--output", str(output)], cwd=ROOT,
                          capture_output=True, text=True, timeout=540)  # fmt: skip
    return done, output.read_text(encoding="utf-8") if output.exists() else ""


def section(markdown: str, title: str) -> str:
    """The text under ``## title`` up to the next second-level heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, flags=re.S | re.M)
    assert match, f"no section '{title}'"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The data rows of the first markdown table in ``text``."""
    table = re.search(r"^\|.*?(?=^[^|]|\Z)", text, flags=re.S | re.M)  # the first run of table lines
    lines = table.group(0).splitlines() if table else []
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_every_benchmark_script_succeeds(quick_run):
    done, _ = quick_run
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.parametrize("title", SECTIONS)
def test_each_benchmark_has_a_table_of_measured_figures(quick_run, title):
    _, markdown = quick_run
    rows = table_rows(section(markdown, title))
    assert rows, f"'{title}' has no table"
    for row in rows:
        numbers = [cell for cell in row if NUMBER.search(cell)]
        assert len(numbers) >= 2, f"'{title}' row without figures: {row}"


def test_targets_table_puts_each_target_beside_its_figure_and_verdict(quick_run):
    _, markdown = quick_run
    rows = table_rows(section(markdown, "Targets"))
    for target in TARGETS:
        matching = [row for row in rows if target.lower() in row[0].lower()]
        assert matching, f"no target row for '{target}'"
        _, figure, goal, verdict = matching[0]
        assert NUMBER.search(figure) and NUMBER.search(goal), matching[0]
        assert verdict in ("**met**", "**not met**")


def test_header_names_the_regenerating_command_machine_and_commit(quick_run):
    _, markdown = quick_run
    head = markdown.split("\n## ", 1)[0]
    assert "`make bench" in head
    assert re.search(r"Machine: .+, \d+ cores, \d+ GB RAM", head)
    assert re.search(r"Commit: [0-9a-f]{7,}", head)
    assert re.search(r"Date: \d{4}-\d\d-\d\d", head)
