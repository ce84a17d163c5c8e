"""A file object that keeps pyarrow's CSV reader from reading far ahead of its consumer."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pyarrow as pa


class PacedFile(io.RawIOBase):
    """A file that lets pyarrow's streaming CSV reader run only `ahead` blocks ahead of the
    consumer.

    The reader reads up to 32 blocks ahead on a background thread, and that is not
    configurable: with 16 MiB blocks, the whole of a 500 MB file would sit in memory. It calls
    read() once per block from that thread, so blocking there bounds the readahead. It needs the
    block after a batch's block to finish that batch (a row may straddle them), so `ahead` must
    be at least 2; a wait still gives up after a while, so a change in pyarrow's pipeline would
    cost memory, never a hang.
    """

    def __init__(self, path: Path, ahead: int, patience: float = 5.0) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._reads = 0
        self._allowed = ahead
        self._patience = patience
        self._finished = False
        self._turn = threading.Condition()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._wait_turn():
            return b""
        return self._file.read(size)

    def read_buffer(self, size: int) -> pa.Buffer:
        """pyarrow prefers this to read(): the block lands in Arrow's memory pool, which can
        give it back to the OS (see BatchStream.__iter__), instead of in a bytes object."""
        buffer = pa.allocate_buffer(size if self._wait_turn() else 0, resizable=True)
        if size and buffer.size:
            with memoryview(buffer) as view:
                buffer.resize(self._file.readinto(view))
        return buffer

    def _wait_turn(self) -> bool:
        """Wait until the consumer is close enough behind; False once the file is closed."""
        with self._turn:
            self._turn.wait_for(
                lambda: self._reads < self._allowed or self._finished, timeout=self._patience
            )
            self._reads += 1
            return not self._finished

    def batch_consumed(self) -> None:
        with self._turn:
            self._allowed += 1
            self._turn.notify_all()

    def close(self) -> None:
        with self._turn:
            self._finished = True  # a reader thread still waiting gets end-of-file
            self._turn.notify_all()
            self._file.close()
        super().close()
