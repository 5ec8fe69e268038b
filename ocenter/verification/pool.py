"""The worker threads that judge parts of a table, and how many parts may be in flight at once."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_MAX_WORKERS = 4


class _Pool:
    """Worker threads judging parts, or none on a single processor (then work runs inline).

    ``reading``: True when the calling thread reads and parses the stream as it goes (a
    processor is left to it); a callable when a thread of its own does, saying whether it still
    is: until then one part is judged at a time, so that the reading, the slower of the two,
    keeps a processor to itself; then every processor judges what it left.
    """

    def __init__(self, reading: bool | Callable[[], bool] = False) -> None:
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        workers = min(usable or 1, _MAX_WORKERS)
        self._still_reading = reading if callable(reading) else None
        self._window = 2 * workers  # a part waits for each worker: none idles between two parts
        if reading is True and workers > 1:
            # The calling thread reads on a core of its own, and the next part comes only as
            # fast as it reads: one waiting part is enough.
            workers -= 1
            self._window = workers
        threaded = (usable or 1) > 1
        self.executor = ThreadPoolExecutor(workers, "ocenter-verify") if threaded else None

    def window(self) -> int:
        """Parts that may stay submitted but not yet recorded once the next one is submitted:
        bounds the memory of work in flight, and how many are judged at once."""
        if self._still_reading is not None and self._still_reading():
            return 0
        return self._window

    def submit(self, function: Callable[..., Any], *arguments: Any) -> Future[Any]:
        if self.executor is not None:
            return self.executor.submit(function, *arguments)
        done: Future[Any] = Future()
        try:
            done.set_result(function(*arguments))
        except BaseException as exc:  # re-raised by result(), as from a worker
            done.set_exception(exc)
        return done

    def close(self) -> None:
        if self.executor is not None:
            # Tasks never wait on one another, so waiting here always ends.
            self.executor.shutdown(wait=True, cancel_futures=True)
