"""docs/tiny-results.md's commands are what they say: every launch line parses, and states its trial count truly.

The page tells the next sessions what to run, with "9 trials" beside each command so a session can be sized before
it starts.  A plan whose command no longer parses (a renamed key, a catalog change), or whose count drifted from
what the launcher would run (the leakage control once merged three runs into one), would cost a whole session to
discover; here each line runs through the launcher's own --dry-run instead.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sweeps.launch import main

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tiny-results.md"
COUNT = re.compile(r"(?<![\d.])(\d+) trials")


def launch_lines() -> list[tuple[str, int | None]]:
    """(command, stated trial count or None) for every indented `python -m sweeps.launch` line of the page."""
    text = PAGE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        body = line.strip()
        if not line.startswith("    ") or not body.startswith("python -m sweeps.launch "):
            continue
        command, _, comment = body.partition("#")
        stated = COUNT.findall(comment)
        out.append((command.strip(), int(stated[-1]) if stated else None))
    return out


def test_the_page_has_launch_lines_with_counts() -> None:
    lines = launch_lines()
    assert len(lines) >= 10 and sum(count is not None for _, count in lines) >= 8


@pytest.mark.parametrize(("command", "stated"), launch_lines())
def test_each_launch_line_dry_runs_to_its_stated_trial_count(command: str, stated: int | None, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(command)[3:]
    if "--storage" in argv:
        argv[argv.index("--storage") + 1] = str(tmp_path / argv[argv.index("--storage") + 1])
    else:
        argv += ["--storage", str(tmp_path / "results")]
    assert main([*argv, "--dry-run"]) == 0, capsys.readouterr().err
    head = capsys.readouterr().out.splitlines()[0]
    found = int(re.search(r": (\d+) trials", head).group(1))
    if stated is not None:
        assert found == stated, f"{command}: the page says {stated} trials, the launcher runs {found}"
    assert not any(tmp_path.iterdir())      # a dry run writes nothing
