"""Files only this user may read (secrets, the emulator's snapshot), replaced whole so a reader never sees half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes, *, durable: bool = False) -> None:
    """`path` holds `data`, mode 0600. The temporary file is new (a unique name, created 0600): a leftover of an
    interrupted write, whatever its mode, is never reused. `durable`: on disk before it replaces the old file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
