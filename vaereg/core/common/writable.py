"""Where a command will write, checked before it works: a folder that cannot be written
(under /proc, read-only, an existing file, no permission) is bad input (exit 2) found
in a second, not a traceback after minutes of training or evaluation."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vaereg.core.common.errors import VaeregError


def writable_folder(folder: str | Path, what: str) -> Path:
    """``folder``, created if missing, once a file has been written in it and removed;
    else a :class:`VaeregError` naming it and ``what`` set it (``--out``, ``run.out_dir``)."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".vaereg-write-check-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
        reason = (f"{blocker} is a file, not a folder"
                  if blocker is not None and not blocker.is_dir()
                  else error.strerror or type(error).__name__)
        raise VaeregError(f"{what} {folder}: cannot write files there ({reason})") from None
    return folder
