"""Keep Ray's `(raylet) ...` lines out of the launch's progress output, and keep them in a file instead.

`ray.init(log_to_driver=False)` stops workers' output reaching the driver, but
not the error messages raylets publish through the GCS (`(raylet) accessor.cc`,
`node_manager.cc`, a worker killed for memory): in Ray 2.60 every driver starts
a thread (`listen_error_messages`) that prints them to `sys.stdout` with a
`(raylet)` prefix, whatever `log_to_driver` says.  On a cluster they
interleave with our progress lines.  `divert_raylet_lines` wraps stdout and
stderr for the Ray part of a launch: complete lines that start with the
`(raylet` prefix (optionally coloured) go to a log file, everything else
passes through unchanged.  The file is `<sweep>/ray/raylet-messages.log` for
local storage; for a bucket, a local temp file (named at the start).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any, TextIO

RAYLET_LINE = re.compile(r"^(?:\x1b\[[0-9;]*m)*\(raylet[,)]")
LOG_NAME = "raylet-messages.log"


def _maybe_raylet(partial: str) -> bool:
    text = re.sub(r"^(?:\x1b\[[0-9;]*m)*", "", partial)
    return text.startswith("(raylet") or "(raylet".startswith(text)


class _LineFilter:
    """A text stream that sends complete `(raylet...` lines to SINK and every other line to INNER."""

    def __init__(self, inner: TextIO, sink: TextIO, lock: threading.Lock) -> None:
        self._inner, self._sink, self._lock, self._buf = inner, sink, lock, ""

    def write(self, text: str) -> int:
        with self._lock:   # Ray's listener thread writes while the main thread prints progress
            self._buf += text
            while "\n" in self._buf:
                line, self._buf = self._buf.split("\n", 1)
                (self._sink if RAYLET_LINE.match(line) else self._inner).write(line + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._buf and not _maybe_raylet(self._buf):   # a prompt without newline; never half a raylet line
                self._inner.write(self._buf)
                self._buf = ""
            self._inner.flush()
            self._sink.flush()

    def __getattr__(self, name: str) -> Any:   # isatty, fileno, encoding, ... of the real stream
        return getattr(self._inner, name)


def log_path(store: Any, ray_dir: str) -> str:
    """Where diverted lines go: beside Ray's experiment state for local storage, else a named temp file."""
    if store.is_local:
        return os.path.join(store.root, ray_dir, LOG_NAME)
    return os.path.join(tempfile.gettempdir(), f"ganaug-{store.sweep}-{LOG_NAME}")


@contextlib.contextmanager
def divert_raylet_lines(path: str) -> Iterator[str]:
    """Within the block, `(raylet)` lines printed to stdout/stderr are appended to PATH instead."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lock = threading.Lock()
    with open(path, "a", encoding="utf-8") as sink:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = _LineFilter(old_out, sink, lock)  # type: ignore[assignment]
        sys.stderr = _LineFilter(old_err, sink, lock)  # type: ignore[assignment]
        try:
            yield path
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            sys.stdout, sys.stderr = old_out, old_err
