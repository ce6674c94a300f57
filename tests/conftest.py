"""Session-wide test settings: a private cache dir, a headless plot backend, few threads.

The cache (procedural data, detector weights, real-data statistics) goes into one
temporary directory per test session, so tests never depend on what a developer's
own ~/.cache holds, yet the expensive pieces are built only once per session.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")
if "GANAUG_CACHE" not in os.environ:
    os.environ["GANAUG_CACHE"] = tempfile.mkdtemp(prefix="ganaug-test-cache-")
