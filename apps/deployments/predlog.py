"""The prediction log's writer: requests append rows to an in-process buffer, a background
thread writes them to PostgreSQL in batches, so no request waits on the database.

A batch is written when the buffer holds PREDICTION_LOG_BATCH rows (default 500) or every
PREDICTION_LOG_FLUSH_SECONDS (default 1 s), whichever comes first. A clean exit (gunicorn's
`worker_exit` hook in portal/gunicorn_conf.py, interpreter exit through `atexit`, or SIGTERM in a
process that has no SIGTERM handler of its own) flushes what is left. A crash (SIGKILL, power
loss) loses what was buffered and not yet written: at most the last flush interval's rows.

If the database refuses a batch, the rows go back to the front of the buffer and the next
flush tries again; past MAX_BUFFERED rows the oldest are dropped (and counted), so a long
database outage cannot take the web process down with it.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable

from django.db import close_old_connections

from apps.deployments.serving import config

logger = logging.getLogger(__name__)

MAX_BUFFERED = 200_000


def _bulk_insert(rows: list[dict]) -> None:
    from apps.deployments.models import PredictionLog

    PredictionLog.objects.bulk_create([PredictionLog(**row) for row in rows])


class PredictionLogWriter:
    def __init__(
        self,
        *,
        flush_seconds: float | None = None,
        batch: int | None = None,
        write: Callable[[list[dict]], None] = _bulk_insert,
    ) -> None:
        self.flush_seconds = flush_seconds
        self.batch = batch
        self.write = write
        self.dropped = 0
        self._rows: collections.deque[dict] = collections.deque()
        self._wake = threading.Event()
        # Reentrant: the SIGTERM handler may interrupt a flush running on the main thread.
        self._flush_lock = threading.RLock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._stopping = False

    def _interval(self) -> float:
        return self.flush_seconds if self.flush_seconds is not None else config.log_flush_seconds()

    def _batch(self) -> int:
        return self.batch or config.log_batch()

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, rows: Iterable[dict]) -> None:
        """Called on the request path: a deque append and, now and then, a wake-up."""
        self._ensure_started()
        self._rows.extend(rows)
        overflow = len(self._rows) - MAX_BUFFERED
        for _ in range(max(0, overflow)):
            self._rows.popleft()
            self.dropped += 1
        if len(self._rows) >= self._batch():
            self._wake.set()

    def flush(self) -> int:
        """Write everything buffered now; returns the number of rows written."""
        written = 0
        with self._flush_lock:
            size = self._batch()
            while self._rows:
                chunk = []
                while self._rows and len(chunk) < size:
                    chunk.append(self._rows.popleft())
                try:
                    self.write(chunk)
                except Exception:
                    logger.exception("prediction log: %d row(s) not written; retrying", len(chunk))
                    self._rows.extendleft(reversed(chunk))
                    break
                written += len(chunk)
        return written

    def shutdown(self) -> int:
        self._stopping = True
        self._wake.set()
        return self.flush()

    def _ensure_started(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid != os.getpid():
                # Forked after the thread started (gunicorn --preload): the child has the
                # parent's buffer but not its thread; those rows are the parent's to write.
                self._rows.clear()
                self._thread, self._pid = None, os.getpid()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="prediction-log", daemon=True
                )
                self._thread.start()
                _install_sigterm_flush()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._interval())
            self._wake.clear()
            if not self._rows:
                continue
            # The thread's own connection: drop it if the server closed it meanwhile.
            close_old_connections()
            self.flush()


writer = PredictionLogWriter()


def record(rows: Iterable[dict]) -> None:
    writer.append(rows)


def shutdown() -> int:
    return writer.shutdown()


atexit.register(shutdown)


def _install_sigterm_flush() -> None:
    """Only where nobody else handles SIGTERM (a plain Python process): gunicorn installs its
    own handlers before it loads the app, and flushes through `worker_exit` instead."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: object) -> None:
        shutdown()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
