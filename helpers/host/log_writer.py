"""The host's log output: lines are queued by whoever logs and written by a thread of their own, in batches.

Why: the engine logs a few lines per orchestration step (episode started, activity started and completed), from
the event loop and from the threads that run activities. Formatting and writing them there put a write system
call and a thread hand-off on every step's critical path. Here the logging thread only queues the record; a
writer thread drains the queue every `INTERVAL` seconds -- polling rather than waking for every line, which
would make it compete for the interpreter exactly when the engine has work.

The engine's own informational lines go one step further (`deferring`): the thread that logs queues only the
logger, the message, its arguments, the time and the thread, and the writer thread builds the LogRecord and
passes it through the logger's filters and handlers (`Logger.handle`, as `Logger.log` would). Building a record --
finding the caller, reading the thread, process and task names -- costs about 0.1 ms on a processor whose caches
went cold while an activity ran, and an orchestration step logs three lines; queueing a tuple costs a tenth of
that. The record says where it was logged from as `(deferred)`, line 0: the host's format does not show it.

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
import time
from typing import Any

INTERVAL = 0.01
_writer: LogWriter | None = None


class LogWriter:
    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler
        self._records: queue.SimpleQueue[logging.LogRecord | tuple[Any, ...]] = queue.SimpleQueue()
        self._drain_lock = threading.Lock()
        self._drainer: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def put(self, record: logging.LogRecord | tuple[Any, ...]) -> None:
        self._records.put(record)

    def put_deferred(self, logger: logging.Logger, level: int, msg: str, args: tuple[Any, ...]) -> None:
        """Queue a line whose record the writer builds (`_build`); cheap enough for any hot path."""
        thread = threading.current_thread()
        self._records.put((logger, level, msg, args, time.time(), thread.ident, thread.name))

    def draining_here(self) -> bool:
        """True on the thread that is draining the queue right now (its handler writes in place, in order)."""
        return self._drainer == threading.get_ident()

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.drain()
        self.drain()

    def drain(self) -> None:
        with self._drain_lock:  # one drainer at a time, so lines keep their order
            self._drainer = threading.get_ident()
            try:
                while True:
                    try:
                        item = self._records.get_nowait()
                    except queue.Empty:
                        return
                    if isinstance(item, tuple):
                        try:
                            logger, record = _build(*item)
                            logger.handle(record)  # its filters and handlers; ours writes it in place
                        except Exception:
                            self.handler.handleError(logging.makeLogRecord({"msg": item[2], "args": item[3]}))
                    else:
                        self.handler.handle(item)
            finally:
                self._drainer = None

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

    def handle(self, record: logging.LogRecord) -> Any:
        handled = super().handle(record)  # filters, then emit() under this handler's lock
        # Warnings are written at once -- after the handler's lock is released: the drainer takes that lock for
        # every deferred line it builds (logger.handle), so draining while holding it could deadlock.
        if handled and record.levelno >= logging.WARNING and not self._writer.draining_here():
            self._writer.drain()
        return handled

    def emit(self, record: logging.LogRecord) -> None:
        if self._writer.draining_here():  # a deferred line being built now: its place in the order is now
            self._writer.handler.handle(record)
            return
        self._writer.put(record)


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


def _build(
    logger: logging.Logger,
    level: int,
    msg: str,
    args: tuple[Any, ...],
    created: float,
    thread: int | None,
    thread_name: str,
) -> tuple[logging.Logger, logging.LogRecord]:
    record = logger.makeRecord(logger.name, level, "(deferred)", 0, msg, args, None)
    # The time and thread of the call, not of the build (the times with LogRecord.__init__'s own arithmetic).
    record.relativeCreated -= (record.created - created) * 1000
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    record.thread, record.threadName = thread, thread_name
    return logger, record


class DeferringLogger(logging.LoggerAdapter):
    """A logger whose informational lines become records on the writer thread (see the module docstring).

    Warnings and errors, lines with `exc_info` or `extra`, and every line when no LogWriter is configured (tests,
    an engine embedded in another program) are logged at once, exactly as by the wrapped logger. A deferred line's
    filters and handlers run on the writer thread: one that reads thread-local or context state sees the
    writer's, and `funcName` is not known.
    """

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, None)

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        writer = _writer
        if writer is None or kwargs or level >= logging.WARNING:
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1  # the caller's file and line, not this method's
            self.logger.log(level, msg, *args, **kwargs)
        elif self.logger.isEnabledFor(level):
            writer.put_deferred(self.logger, level, msg, args)


def deferring(logger: logging.Logger) -> DeferringLogger:
    """`logger`, with its informational lines built off the caller's thread when a LogWriter is configured."""
    return logger if isinstance(logger, DeferringLogger) else DeferringLogger(logger)


def flush() -> None:
    """Write every queued line now (no-op when the host logs synchronously, as in tests)."""
    if _writer is not None:
        _writer.drain()
