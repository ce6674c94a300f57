"""Launch is atomic with respect to Ray: a start that cannot reach Ray writes nothing and says so in one line.

Ray retries a dead `--address` for minutes with warnings (docs/ray-notes.md); before this was handled, such a
launch also left `sweep.json` behind, so the next launch was refused and `--resume` died with a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweeps.launch import main
from sweeps.ray_address import check_reachable, host_port
from trainer.errors import UserInputError

ROOT = Path(__file__).resolve().parents[2]


def test_unreachable_address_exits_2_within_30_s_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    storage = tmp_path / "results"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "sweeps.launch", "fixed_p_grid", "--storage", str(storage),
                           "--address", "127.0.0.1:1"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert elapsed < 30, elapsed
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "--address 127.0.0.1:1" in lines[0], lines   # Ray's retry warnings are not shown
    assert not (storage / "fixed_p_grid").exists()


def test_resume_of_a_folder_without_ray_state_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "fixed_p_grid"
    folder.mkdir()
    (folder / "sweep.json").write_text(json.dumps({"scale": "smoke", "set": []}))   # what a failed start once left
    assert main(["fixed_p_grid", "--storage", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Ray experiment state" in err[0], err
    assert sorted(p.name for p in folder.iterdir()) == ["sweep.json"]


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1:6379", ("127.0.0.1", 6379)), ("ray://head:10001", ("head", 10001)), ("[::1]:6379", ("::1", 6379)),
    ("auto", None), ("local", None), ("http://127.0.0.1:8265/x", None),
])
def test_host_port_of_addresses(address: str, expected: tuple[str, int] | None) -> None:
    assert host_port(address) == expected


def test_a_listening_port_passes_and_a_closed_one_is_refused() -> None:
    import socket
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")
    with pytest.raises(UserInputError, match=f"--address 127.0.0.1:{port}: no Ray cluster reachable"):
        check_reachable(f"127.0.0.1:{port}")
