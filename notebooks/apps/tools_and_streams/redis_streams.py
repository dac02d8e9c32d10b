"""Reliable streaming: an agent's answer written to a Redis Stream as it is produced, read back from a cursor.

The pattern of Agent Framework's reliable-streaming sample (`03_reliable_streaming`), written for this lesson:

- `RedisStreamCallback` is an agent response callback (`AgentResponseCallbackProtocol`). The agent's entity
  calls `on_streaming_response_update` for every piece of text the model streams, and `on_agent_response` once
  at the end. Each piece becomes one entry (`XADD`) of the stream `agent-stream:<session key>`, and the end
  becomes an entry with `done=true`. Redis gives every entry an id (`<milliseconds>-<sequence>`), in order.
- `read_after(conversation_id, cursor)` returns the entries after `cursor` (`XREAD`), waiting a little for the
  first one. A client keeps the id of the last entry it got; after a dropped connection it asks again from
  there and gets exactly the rest. Nothing is asked of the model again: the answer is in Redis.

Every call opens its own Redis connection and closes it, as the sample does: entities and HTTP functions may
run on different event loops, and a connection belongs to the loop that opened it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis
from agent_framework import AgentResponse, AgentResponseUpdate
from agent_framework.azure import AgentCallbackContext, AgentResponseCallbackProtocol

logger = logging.getLogger(__name__)

STREAM_TTL = timedelta(minutes=int(os.environ.get("REDIS_STREAM_TTL_MINUTES", "10")))


def redis_client() -> aioredis.Redis:
    """A client for the Redis the app is configured with (`lab.start(redis=True)` starts one and sets this)."""
    return aioredis.from_url(os.environ["REDIS_CONNECTION_STRING"], decode_responses=True)


def stream_key(conversation_id: str) -> str:
    return f"agent-stream:{conversation_id}"


@dataclass(frozen=True)
class StreamEntry:
    entry_id: str  # the Redis entry id: the cursor to resume after this entry
    text: str = ""
    done: bool = False


class RedisStreamCallback(AgentResponseCallbackProtocol):
    """Writes each streamed piece of an agent's answer, then an end marker, to the session's Redis Stream."""

    async def on_streaming_response_update(self, update: AgentResponseUpdate, context: AgentCallbackContext) -> None:
        if context.session_id and update.text:
            await _append(context.session_id, {"text": update.text})

    async def on_agent_response(self, response: AgentResponse, context: AgentCallbackContext) -> None:
        if context.session_id:
            await _append(context.session_id, {"text": "", "done": "true"})


async def _append(conversation_id: str, fields: dict[str, str]) -> None:
    client = redis_client()
    try:
        key = stream_key(conversation_id)
        await client.xadd(key, {**fields, "timestamp": str(int(time.time() * 1000))})
        await client.expire(key, STREAM_TTL)
    except Exception:  # a stream that cannot be written must not fail the agent: the entity keeps the answer
        logger.exception("Writing to the Redis stream of %s failed", conversation_id)
    finally:
        await client.aclose()


async def read_after(conversation_id: str, cursor: str | None, *, wait_seconds: float) -> list[StreamEntry] | None:
    """The entries after `cursor` (all of them without one), up to and including the end marker.

    Waits up to `wait_seconds` for the first entry; returns None when none came (no such stream, or not yet).
    """
    client = redis_client()
    try:
        key = stream_key(conversation_id)
        start = cursor or "0-0"
        deadline = time.monotonic() + wait_seconds
        entries: list[StreamEntry] = []
        while True:
            answer = await client.xread({key: start}, count=1000)
            for _key, items in answer or []:
                for entry_id, fields in items:
                    start = entry_id
                    done = fields.get("done") == "true"
                    entries.append(StreamEntry(entry_id, fields.get("text", ""), done))
                    if done:
                        return entries
            if entries:
                return entries
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
