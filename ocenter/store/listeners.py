"""Listeners told after a ref of a store moved (the mirror pushes then), by store path."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

# Listeners told after a ref moved (ocenter/store/mirror.py pushes to a remote), by store path


_ref_listeners: dict[Path, list[Callable[[str], None]]] = {}
_ref_listeners_lock = threading.Lock()


def add_ref_listener(path: Path, listener: Callable[[str], None]) -> None:
    """Call ``listener(ref)`` after any SpecStore of this process moved a ref of the store at ``path``.

    It runs in the writer's thread right after the compare-and-swap succeeded, so it must be
    quick and must not wait on anything slow; an exception it raises is logged, never re-raised
    (the write has already happened).
    """
    with _ref_listeners_lock:
        _ref_listeners.setdefault(Path(path).resolve(), []).append(listener)


def remove_ref_listener(path: Path, listener: Callable[[str], None]) -> None:
    """Undo ``add_ref_listener`` (nothing happens if it was not added)."""
    with _ref_listeners_lock:
        listeners = _ref_listeners.get(Path(path).resolve(), [])
        if listener in listeners:
            listeners.remove(listener)


def _ref_moved(path: Path, ref: str) -> None:
    with _ref_listeners_lock:
        listeners = list(_ref_listeners.get(path, ()))
    for listener in listeners:
        try:
            listener(ref)
        except Exception:
            logging.getLogger(__name__).exception("a listener failed after %s moved in %s", ref, path)
