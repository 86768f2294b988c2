"""How the ``rtrlbench`` commands meet the terminal: help texts, progress bars, Ctrl-C.

* :class:`DefaultsHelpFormatter`: argparse's "(default: X)" only where it adds something.
* :func:`show_progress`: the one switch for every progress bar, the command's
  ``--no-progress`` and tqdm's own ``TQDM_DISABLE`` variable (which tqdm itself ignores
  when a caller passes ``disable=`` explicitly, as every bar here does).
* :func:`children_ignore_interrupts`: child processes started inside the block (Dask's
  local workers) ignore SIGINT, so a Ctrl-C, which the terminal sends to the whole process
  group, reaches only the parent, which stops them cleanly and prints one message; and
  multiprocessing's resource tracker, started there, does not print its "leaked semaphore
  objects to clean up at shutdown" warning for the workers a Ctrl-C stopped mid-run (it does
  clean those up: that is its job).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's "(default: X)" suffix, only where it says something: not when the help text
    already gives the default, and not for None or a switch's False."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


#: Values of ``TQDM_DISABLE`` that leave the bars on.
_FALSE = ("", "0", "false", "no", "off")


def show_progress(requested: bool = True) -> bool:
    """Whether to draw progress bars: ``requested`` (False for ``--no-progress``) and the
    environment does not set ``TQDM_DISABLE`` (to anything but 0/false/no/off)."""
    return requested and os.environ.get("TQDM_DISABLE", "").strip().lower() in _FALSE


@contextlib.contextmanager
def children_ignore_interrupts():
    """Ignore SIGINT while the block starts child processes (they inherit the setting across
    exec, and Python then installs no KeyboardInterrupt handler in them); restore it after.
    The setting must be SIG_IGN itself (a Python handler is reset by exec), so a Ctrl-C that
    arrives during the block (a local cluster's start-up) is dropped. Outside the main thread
    the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _quiet_resource_tracker()
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


#: The resource tracker's shutdown warning about objects of stopped processes (it removes them).
_TRACKER_WARNING = "ignore:resource_tracker:UserWarning"


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (if it is not running yet) with its shutdown
    warning filtered out: it is a separate process that takes this interpreter's -W options."""
    from multiprocessing import resource_tracker

    added = _TRACKER_WARNING not in sys.warnoptions
    if added:
        sys.warnoptions.append(_TRACKER_WARNING)
    try:
        resource_tracker.ensure_running()
    finally:
        if added:
            sys.warnoptions.remove(_TRACKER_WARNING)
