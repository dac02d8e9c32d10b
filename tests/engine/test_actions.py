"""The replay comparison matches what the Durable Task Framework compares — no stricter, no looser."""

from __future__ import annotations

from helpers.durable_vocabulary import ActionType
from helpers.host.engine.actions import signature


def call_activity(name: str) -> dict:
    return {"actionType": ActionType.CallActivity, "functionName": name, "input": "null"}


def call_entity(instance_id: str, operation: str = "run") -> dict:
    return {"actionType": ActionType.CallEntity, "instanceId": instance_id, "operation": operation, "input": "null"}


def test_a_different_activity_on_replay_is_a_mismatch() -> None:
    assert signature(call_activity("fetch_fresh")) != signature(call_activity("use_cached"))


def test_activity_names_compare_case_insensitively_like_function_names() -> None:
    assert signature(call_activity("SayHello")) == signature(call_activity("sayhello"))


def test_an_activity_where_an_entity_call_was_is_a_mismatch() -> None:
    assert signature(call_activity("run")) != signature(call_entity("@dafx-writeragent@k1"))


def test_an_entity_call_to_another_entity_id_is_not_detected_as_on_azure() -> None:
    # The extension records entity calls as EventSent named "op" and compares only that name on replay, so a
    # random session key is silently accepted there; the embedded host must not fail what Azure runs.
    assert signature(call_entity("@dafx-writeragent@key-1")) == signature(call_entity("@dafx-writeragent@key-2"))
    assert signature(call_entity("@dafx-writeragent@k", "run")) == signature(call_entity("@counter@k", "reset"))
