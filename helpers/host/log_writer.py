"""The host's log output: lines are queued by whoever logs and written by a thread of their own, in batches.

Why: the engine logs a few lines per orchestration step (episode started, activity started and completed), from
the event loop and from the threads that run activities. Formatting and writing them there put a write system
call and a thread hand-off on every step's critical path. Here the logging thread only queues the record; a
writer thread drains the queue every `INTERVAL` seconds -- polling rather than waking for every line, which
would make it compete for the interpreter exactly when the engine has work.

Two rules keep the log as trustworthy as a synchronous one:
- `flush()` writes every queued line now. The Durable HTTP API calls it before it answers a read, so a client
  that sees an instance completed finds every log line of that instance in the file (notebooks count episodes
  from the log).
- Warnings and errors are written at once, after whatever was queued before them.
"""
from __future__ import annotations

import logging
import queue
import sys
import threading

INTERVAL = 0.01
_writer: "LogWriter | None" = None


class LogWriter:
    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler
        self._records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._drain_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def put(self, record: logging.LogRecord) -> None:
        self._records.put(record)

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.drain()
        self.drain()

    def drain(self) -> None:
        with self._drain_lock:  # one drainer at a time, so lines keep their order
            while True:
                try:
                    record = self._records.get_nowait()
                except queue.Empty:
                    return
                self.handler.handle(record)

    def stop(self) -> None:
        """Write out every queued line; safe to call twice."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(timeout=5)
        self.drain()


class _QueueingHandler(logging.Handler):
    def __init__(self, writer: LogWriter) -> None:
        super().__init__()
        self._writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        self._writer.put(record)
        if record.levelno >= logging.WARNING:
            self._writer.drain()


def configure(level: str, fmt: str) -> LogWriter:
    """Route the root logger through a LogWriter to stderr; the caller stops the writer before exiting."""
    global _writer
    output = logging.StreamHandler(sys.stderr)
    output.setFormatter(logging.Formatter(fmt))
    writer = LogWriter(output)
    root = logging.getLogger()
    root.setLevel(level.upper())
    root.addHandler(_QueueingHandler(writer))
    _writer = writer
    return writer


def flush() -> None:
    """Write every queued line now (no-op when the host logs synchronously, as in tests)."""
    if _writer is not None:
        _writer.drain()
