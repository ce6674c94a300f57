"""Reading one metric part, and telling a part that cannot be read from storage that cannot be reached.

A part left truncated or overwritten with garbage (a crash on a filesystem without
atomic rename, a partial copy by the user) must cost its own rows, not the whole
sweep's: every reader (`analysis.load_metrics`, `sweeps.status`, the report, the
store's compaction) skips it, names it once, and reads the rest.  But a read that
fails because the storage is unreachable (an S3 outage) is no property of the
file: skipping it would silently draw figures from part of the data.  So a
failed read counts as an unreadable part only when the storage still answers
for that very file; otherwise the storage's error propagates.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

__all__ = ["UnreadablePart", "read_part", "skip_note"]


class UnreadablePart(ValueError):
    """A metric part that exists but is not valid Parquet (truncated, garbage, corrupt pages)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"unreadable Parquet part {path} ({reason})")


def read_part(fs: pafs.FileSystem, path: str, *, threads: bool = True) -> pa.Table | None:
    """The part at PATH; None if it vanished since it was listed (compacted away: its rows are in the merged part).

    Raises UnreadablePart when the file is there but is not readable Parquet, and the storage's own OSError
    when the storage does not answer."""
    try:
        return pq.read_table(path, filesystem=fs, use_threads=threads)
    except FileNotFoundError:
        return None
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace(f" '{path}'", "")
        info = fs.get_file_info(path)   # raises in turn when the storage itself is unreachable
        if info.type == pafs.FileType.NotFound:
            return None
        raise UnreadablePart(path, reason[:160]) from None


def skip_note(exc: UnreadablePart) -> str:
    """The one line every reader prints for a skipped part."""
    return f"skipped {exc}: its rows are left out, every other part is read"
