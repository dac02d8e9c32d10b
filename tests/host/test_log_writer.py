"""The host's log writer: deferred lines keep their time, thread, order and the logger's filters."""

from __future__ import annotations

import io
import logging
import threading
import time

import pytest

from helpers.host import log_writer

FORMAT = "%(created).6f %(threadName)s %(levelname)s %(message)s"


@pytest.fixture()
def writer(monkeypatch: pytest.MonkeyPatch):
    """A LogWriter behind its own logger (not root), installed as the host's writer for the test."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FORMAT))
    w = log_writer.LogWriter(handler)
    logger = logging.getLogger("tests.log_writer")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    queueing = log_writer._QueueingHandler(w)
    logger.addHandler(queueing)
    monkeypatch.setattr(log_writer, "_writer", w)
    yield logger, out, w
    w.stop()
    logger.removeHandler(queueing)
    logger.filters.clear()


def lines(out: io.StringIO) -> list[list[str]]:
    return [line.split(" ", 3) for line in out.getvalue().splitlines()]


def test_deferred_line_keeps_the_time_and_thread_of_the_call(writer) -> None:
    logger, out, _ = writer
    log = log_writer.deferring(logger)
    called: list[float] = []

    def work() -> None:
        called.append(time.time())
        log.info("activity %s completed", "a")
        called.append(time.time())

    thread = threading.Thread(target=work, name="user-code_3")
    thread.start()
    thread.join()
    time.sleep(0.05)  # the record is built later than the call, on whichever thread drains
    drained = time.time()
    log_writer.flush()
    [(created, thread_name, level, message)] = lines(out)
    assert (thread_name, level, message) == ("user-code_3", "INFO", "activity a completed")
    # the call's time (within the call, to the format's microsecond), not the drain's, 50 ms or more later
    assert called[0] - 1e-6 <= float(created) <= called[1] + 1e-6 < drained


def test_deferred_and_direct_lines_keep_their_order(writer) -> None:
    logger, out, _ = writer
    log = log_writer.deferring(logger)
    log.info("one")
    logger.info("two")  # a plain logger call: a ready record in the same queue
    log.info("three")
    log.warning("four")  # written at once, after everything queued before it
    assert [m for *_, m in lines(out)] == ["one", "two", "three", "four"]


def test_deferred_lines_pass_the_loggers_filters_and_level(writer) -> None:
    logger, out, _ = writer
    log = log_writer.deferring(logger)
    logger.addFilter(lambda record: "secret" not in record.getMessage())
    log.info("kept")
    log.info("a %s line", "secret")
    log.debug("below the level")
    log_writer.flush()
    assert [m for *_, m in lines(out)] == ["kept"]


def test_without_a_writer_lines_are_logged_at_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(log_writer, "_writer", None)
    log = log_writer.deferring(logging.getLogger("tests.log_writer.sync"))
    with caplog.at_level(logging.INFO, logger="tests.log_writer.sync"):
        log.info("episode %d", 3)
    assert [r.getMessage() for r in caplog.records] == ["episode 3"]
    assert caplog.records[0].funcName == "test_without_a_writer_lines_are_logged_at_once"


def test_deferring_twice_wraps_once() -> None:
    log = log_writer.deferring(logging.getLogger("tests.log_writer.twice"))
    assert log_writer.deferring(log) is log


def test_the_writer_writes_a_line_without_a_flush(writer) -> None:
    logger, out, _ = writer
    log_writer.deferring(logger).info("on its own")
    deadline = time.monotonic() + 2
    while not out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert [m for *_, m in lines(out)] == ["on its own"]
    time.sleep(log_writer.INTERVAL * 3)  # asleep again; the next line wakes it again
    log_writer.deferring(logger).info("and again")
    deadline = time.monotonic() + 2
    while len(lines(out)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert [m for *_, m in lines(out)] == ["on its own", "and again"]


def test_a_warning_logged_while_another_thread_drains_does_not_deadlock(writer) -> None:
    """The drainer takes the queueing handler's lock for every deferred line it builds; a warning takes the same
    lock and then drains. Hold the drainer between two deferred lines and log a warning from another thread."""
    logger, out, w = writer
    log = log_writer.deferring(logger)
    in_filter = threading.Event()

    def slow_filter(record: logging.LogRecord) -> bool:
        if record.getMessage() == "deferred 0" and threading.current_thread().name == "drainer":
            in_filter.set()
            time.sleep(0.2)
        return True

    logger.addFilter(slow_filter)
    log.info("deferred 0")
    log.info("deferred 1")
    drainer = threading.Thread(target=w.drain, name="drainer", daemon=True)
    drainer.start()
    assert in_filter.wait(2)
    warner = threading.Thread(target=lambda: logger.warning("a warning"), name="warner", daemon=True)
    warner.start()
    drainer.join(5)
    warner.join(5)
    assert not drainer.is_alive() and not warner.is_alive(), "the drainer and the warning's thread deadlocked"
    assert [m for *_, m in lines(out)] == ["deferred 0", "deferred 1", "a warning"]


def test_a_line_whose_filter_raises_is_reported_and_the_writer_goes_on(writer, capsys) -> None:
    logger, out, _ = writer
    log = log_writer.deferring(logger)
    logger.addFilter(lambda record: 1 / 0 if record.getMessage() == "bad line" else True)
    log.info("bad line")
    log.info("next line")
    log_writer.flush()  # raises nothing
    assert [m for *_, m in lines(out)] == ["next line"]
    assert "ZeroDivisionError" in capsys.readouterr().err  # logging's own report of a failing handler
