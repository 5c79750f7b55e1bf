"""Reading and atomically writing JSON files."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agentloop.errors import ConversationNotFoundError, SnapshotError, StoreError

__all__ = ["read_json", "write_json_atomic"]


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The JSON goes to a temporary file in the same folder, is flushed to disk, then renamed
    over the target (``os.replace`` is atomic on POSIX and Windows).
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"cannot save to {str(path)!r}: it is a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(
            f"cannot save to {str(path)!r}: {exc.strerror or exc}; give a path in a folder "
            "you may write to"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise StoreError(
                f"cannot save to {str(path)!r}: {exc.strerror or exc}; give a path in a folder "
                "you may write to"
            ) from exc
        raise


def read_json(path: Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConversationNotFoundError(
            f"no saved conversation at {str(path)!r}; check the path (conv.save(path) writes one)"
        ) from None
    except OSError as exc:  # a directory, no permission...
        raise StoreError(
            f"cannot read {str(path)!r}: {exc.strerror or exc}; give the path of a file saved "
            "with conv.save(path) that you may read"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{str(path)!r} is not valid JSON ({exc.msg} at line {exc.lineno}); it is not a "
            "conversation saved by agentloop, or it was edited by hand"
        ) from None
