"""The preview CLI writes a grid PNG of the right size and rejects bad flags with one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainer.augment.preview import DRAWS, GAP, main


def test_preview_writes_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image
    out = tmp_path / "grid.png"
    assert main(["--spec", "bgc", "--p", "0.8", "--out", str(out), "--seed", "1", "--resolution", "16"]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (7 * (16 + GAP), (DRAWS + 1) * (16 + GAP), 3)
    tile = 16 + GAP
    first, rest = img[:16, :16].astype(int), img[:16, tile:tile + 16].astype(int)
    assert np.abs(first - rest).max() > 0 or np.abs(first - img[:16, 2 * tile:2 * tile + 16]).max() > 0


@pytest.mark.parametrize("argv", [["--spec", "zz"], ["--p", "1.5"], ["--p", "x"], ["--resolution", "3"], ["--bogus"]])
def test_bad_flags_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    out = tmp_path / "g.png"
    assert main(argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:")
    assert not out.exists()
