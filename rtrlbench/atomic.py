"""Write files so that a crash never leaves a half-written one behind."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import threading
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file is ``.<name>.<pid>.<random>.tmp``. A process killed before its cleanup
    ran leaves one behind; the next :func:`atomic_path` for the same ``path`` removes it (only
    those whose process is gone, so a concurrent writer is left alone).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; give the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of :func:`atomic_path` for ``path`` whose writing process is gone."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or not _process_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def interrupts_deferred():
    """Hold back SIGINT inside the block; raise KeyboardInterrupt at its end if one came.

    For writes that a library would otherwise leave half done, or finish after swallowing
    the interrupt (h5py prints "Exception ignored" for one raised inside its callbacks).
    Outside the main thread (where signal handlers cannot be set), or where SIGINT is ignored
    (a worker process whose parent handles Ctrl-C), the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically; returns the path."""
    return write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
