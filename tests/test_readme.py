"""The README's two commands are the truth CI runs: keep .ci/run and README in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.14.1 torchvision==0.29.1 && pip install -e '.[test]'"


def _code_lines(text: str) -> list[str]:
    return [ln.strip() for ln in re.findall(r"^    (\S.*)$", text, flags=re.M)]


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    head = readme.split("\n## ")[0]
    lines = _code_lines(head)
    assert lines[:2] == [f"{INSTALL} && python -m sweeps.launch fixed_p_grid", f"{INSTALL} && python -m pytest"]


def test_ci_runs_what_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    steps = [s.strip() for s in INSTALL.split("&&")] + ["python -m pytest"]
    pos = -1
    for step in steps:
        found = ci.find(step, pos + 1)
        assert found > pos, f".ci/run lacks, or reorders, README step {step!r}"
        pos = found
