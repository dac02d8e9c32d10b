"""The function index: what `function_app.py` declares, looked up the way the Functions host does.

`app.get_functions()` may be called only once per app object (a second call raises a duplicate-name
`ValueError`), so the index is built once at start-up and everything else reads it.

Durable names are matched case-insensitively, as the Durable extension does; entity names are lower-cased
in entity ids (`@counter@key`).

CONTRACT (shared by the HTTP layer and the durable engine):

    registry = load_registry(app_dir)          # imports function_app.py; raises AppLoadError with the reason
    registry.orchestrator(name) -> DurableFunction | None
    registry.activity(name)     -> DurableFunction | None   # also resolves the Python __name__ (P15)
    registry.entity(name)       -> DurableFunction | None   # case-insensitive; accepts 'dafx-Writer' or 'dafx-writer'
    registry.http_functions     -> list[HttpFunction]
    registry.all_functions      -> list[FunctionInfo]  (for listing / the admin endpoint)

`DurableFunction.handler` is what `get_user_function()` returned:
  - orchestrator / entity: the SDK's synchronous `handle(context_json_str) -> str` wrapper, called positionally;
  - activity: the user's own function (sync or async), called with `{trigger_param: decoded_input}`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

DurableKind = Literal["orchestrator", "activity", "entity"]


class AppLoadError(Exception):
    """function_app.py could not be imported or indexed; the message says why."""


@dataclass(frozen=True)
class DurableFunction:
    """An orchestrator, activity or entity function as the durable engine needs it."""

    kind: DurableKind
    name: str  # durable name as declared (orchestration / activity / entity_name, else function name)
    function_name: str  # the Functions function name (honours @app.function_name)
    handler: Callable[..., Any]  # get_user_function()
    trigger_param: str  # the trigger binding's parameter name


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP-triggered function and the bindings it must be called with."""

    function_name: str
    route: str  # template without the route prefix, e.g. "singleagent/status/{instanceId}"
    methods: frozenset[str]  # upper-case; empty = all methods
    handler: Callable[..., Any]
    trigger_param: str
    durable_client_param: str | None = None  # name of the durableClient binding, if any
    extra_params: tuple[str, ...] = ()  # e.g. an injected `context: func.Context`


@dataclass(frozen=True)
class FunctionInfo:
    """One row of the function listing (what `func start` prints at start-up)."""

    name: str
    trigger: str  # httpTrigger, orchestrationTrigger, activityTrigger, entityTrigger, ...
    detail: str = ""  # e.g. "POST api/singleagent/run"


@dataclass
class Registry:
    orchestrators: dict[str, DurableFunction] = field(default_factory=dict)  # key: lower-cased name
    activities: dict[str, DurableFunction] = field(default_factory=dict)  # key: lower-cased name (+ python __name__)
    entities: dict[str, DurableFunction] = field(default_factory=dict)  # key: lower-cased name
    http_functions: list[HttpFunction] = field(default_factory=list)
    all_functions: list[FunctionInfo] = field(default_factory=list)

    def orchestrator(self, name: str) -> DurableFunction | None:
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> DurableFunction | None:
        return self.activities.get(name.lower())

    def entity(self, name: str) -> DurableFunction | None:
        return self.entities.get(name.lower())


# load_registry(app_dir) -> Registry lives below; it imports function_app.py once and indexes it.
