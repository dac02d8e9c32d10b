"""Lesson 10's reliable-streaming pieces: the SSE parser, the kit's Redis server, and the exercise's self-check.

One kit for the module (lesson 10's app, offline model at 300 ms per call, a real Redis server). Each answer
below is a `resume_stream(kit, conversation_id, cursor)` as a learner would write it in the notebook.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import lab, processes
from helpers.lab import streams
from helpers.lab.checks import streams as check
from helpers.redis_server import ping


@pytest.fixture(scope="module")
def kit() -> Iterator[lab.Lab]:
    kit = lab.start(model="offline", host="embedded", latency_ms=300, app_dir=lab.TOOLS_AND_STREAMS_APP, redis=True)
    try:
        yield kit
    finally:
        kit.stop()


def right_answer(kit, conversation_id, cursor):
    text = ""
    while True:
        events = lab.streams.fetch(kit, conversation_id, cursor=cursor)
        text += lab.streams.text_of(events)
        cursor = events[-1].id
        if events[-1].done:
            return text


def template(kit, conversation_id, cursor):
    # TODO: read the rest of the answer after `cursor`
    raise NotImplementedError


def from_the_start(kit, conversation_id, cursor):
    return right_answer(kit, conversation_id, None)


def with_the_done_marker(kit, conversation_id, cursor):
    text = ""
    while True:
        events = lab.streams.fetch(kit, conversation_id, cursor=cursor)
        text += "".join(event.data for event in events)
        cursor = events[-1].id
        if events[-1].done:
            return text


def returns_events(kit, conversation_id, cursor):
    return lab.streams.fetch(kit, conversation_id, cursor=cursor)


def crashes(kit, conversation_id, cursor):
    return lab.streams.fetch(kit, conversation_id, cursor="not-a-cursor")


def test_the_right_answer_passes(kit: lab.Lab) -> None:
    verdict = check.resume_from_cursor(kit, right_answer)
    assert verdict.ok, verdict


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (template, "NotImplementedError"),
        (from_the_start, "starts again at the beginning"),
        (with_the_done_marker, "[DONE]"),
        (returns_events, "not the text"),
        (crashes, "could not run your answer"),
        ("not a function", "not a function"),
    ],
)
def test_wrong_answers_are_told_apart(kit: lab.Lab, answer, words: str) -> None:
    verdict = check.resume_from_cursor(kit, answer)
    assert not verdict.ok and words in repr(verdict), verdict


def test_the_kits_redis_is_real_on_loopback_and_gone_after_stop() -> None:
    service = processes.start_redis()
    port = service.port
    try:
        import redis

        client = redis.Redis.from_url(service.url)
        assert client.ping() and client.config_get("save") == {"save": ""}
        assert int(client.info("server")["redis_version"].split(".")[0]) >= 5  # Redis Streams need 5+
        client.close()
    finally:
        service.stop()
    assert not ping(port)


def test_sse_parser_joins_data_lines_and_keeps_ids() -> None:
    body = "id: 1-0\nevent: message\ndata:  Hello\ndata: world\n\nid: 2-0\nevent: done\ndata: [DONE]\n\n"
    events = streams.parse(body)
    assert [(e.id, e.event, e.data) for e in events] == [("1-0", "message", " Hello\nworld"), ("2-0", "done", "[DONE]")]
    assert streams.text_of(events) == " Hello\nworld" and events[-1].done
