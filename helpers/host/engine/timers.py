"""Durable timers: a TimerFired event for the instance at the TimerCreated event's `FireAt`.

The TimerCreated event is the durable record (in the history, or joining it in this loop step); the loop timer
here is only its in-memory alarm, armed again from the history after a restart (in_flight.py).
"""

from __future__ import annotations

import asyncio
import time

from ...durable_vocabulary import EventType
from .contracts import Deliver
from .history import event, now_iso, parse_iso
from .instance import Instance


class Timers:
    """Arms an instance's durable timers on the engine's event loop; a timer that fires delivers TimerFired."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def arm(self, inst: Instance, timer_id: int, fire_at: str) -> None:
        """Fire TimerFired at `fire_at` (its TimerCreated event is in the history, or joins it in this step)."""
        when = parse_iso(fire_at).timestamp()
        delay = max(0.0, when - time.time())
        instance_id, execution_id = inst.instance_id, inst.execution_id
        loop = asyncio.get_running_loop()

        def fire() -> None:
            remaining = when - time.time()
            if remaining > 0:  # loop timers may run a little early (uvloop counts milliseconds): never fire early
                inst.timers[timer_id] = loop.call_later(remaining + 0.0005, fire)
                return
            inst.timers.pop(timer_id, None)
            self._deliver(
                instance_id,
                execution_id,  # a loop step of its own: the episode runs in it (Episodes.wake)
                event(EventType.TimerFired, now_iso(), TimerId=timer_id, FireAt=fire_at),
                now=True,
            )

        inst.timers[timer_id] = loop.call_later(delay, fire)
