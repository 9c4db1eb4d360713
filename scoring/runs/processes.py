"""Child processes: whether one is alive, and tying one's life to its parent's."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# looked up here, in the parent: a child between fork and exec should only make the call
_prctl = getattr(ctypes.CDLL(None), "prctl", None) if sys.platform.startswith("linux") else None


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (killed, and not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere nothing).

    Used as a ``preexec_fn`` or a pool ``initializer``: a batch killed with SIGKILL must not leave
    workers that go on sealing runs under a second batch, nor a kernel its LibreOffice."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
