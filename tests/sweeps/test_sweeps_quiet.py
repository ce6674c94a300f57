"""Ray's `(raylet) ...` messages are kept out of the launch output and in a file (sweeps.quiet).

They are printed by Ray's own `print_to_stdstream` (what the driver's error-listener thread calls for every
message a raylet publishes, whatever log_to_driver says); we call that real function here.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from ray._private.worker import print_to_stdstream

from sweeps.quiet import divert_raylet_lines


def test_raylet_lines_go_to_the_file_and_ours_stay(tmp_path: Path, monkeypatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    log = tmp_path / "ray" / "raylet-messages.log"
    with divert_raylet_lines(str(log)):
        print("[    12s] trial t0001: tick 3 kimg 3.0 fid 61.2  (0/4 done, 0 errored)", flush=True)
        print_to_stdstream({"lines": ["accessor.cc:771: Failed to get the resource load: GrpcUnavailable"],
                            "pid": "raylet", "is_err": False}, ignore_prefix=False)
        print_to_stdstream({"lines": ["node_manager.cc:3040: 1 Workers killed due to memory pressure"],
                            "pid": "raylet", "is_err": True}, ignore_prefix=False)
        print("total: 1/4 done, 2 running, 0 errored; 9.0/16 kimg (56%); expected finish 12:00:00 (in 0m40s)")
        sys.stdout.write("no newline yet")
        sys.stdout.flush()
    assert out.getvalue().splitlines() == [
        "[    12s] trial t0001: tick 3 kimg 3.0 fid 61.2  (0/4 done, 0 errored)",
        "total: 1/4 done, 2 running, 0 errored; 9.0/16 kimg (56%); expected finish 12:00:00 (in 0m40s)",
        "no newline yet"]
    assert "raylet" not in err.getvalue()
    kept = log.read_text()
    assert "accessor.cc:771" in kept and "node_manager.cc:3040" in kept and kept.count("(raylet") == 2
    assert sys.stdout is out and sys.stderr is err   # restored
