"""The function index: what `function_app.py` declares, looked up the way the Functions host does.

`app.get_functions()` may be called only once per app object (a second call raises a duplicate-name
`ValueError`), so the index is built once at start-up and everything else reads it.

Durable names are matched case-insensitively, as the Durable extension does; entity names are lower-cased
in entity ids (`@counter@key`).

Interface (shared by the HTTP layer and the durable engine):

    registry = load_registry(app_dir, disabled=settings.disabled_functions())   # imports function_app.py once;
                                               # raises AppLoadError with the reason
    registry.orchestrator(name) -> DurableFunction | None
    registry.activity(name)     -> DurableFunction | None   # also resolves the Python __name__ (see _index)
    registry.entity(name)       -> DurableFunction | None   # case-insensitive; accepts 'dafx-Writer' or 'dafx-writer'
    registry.http_functions     -> list[HttpFunction]
    registry.mcp_functions      -> list[McpFunction]    # MCP tool / resource / prompt triggers (mcp_triggers.py)
    registry.all_functions      -> list[FunctionInfo]  (for listing / the admin endpoint; disabled ones marked)

A disabled function (`AzureWebJobs.<function>.Disabled`, settings.disabled_functions) is listed and nothing else:
no lookup finds it, so its route is not served, an orchestration that calls it finds no such function, and it
cannot be started -- the Functions host's answers for a function it does not run.

`DurableFunction.handler` is what `get_user_function()` returned:
  - orchestrator / entity: the SDK's synchronous `handle(context_json_str) -> str` wrapper, called positionally;
  - activity: the user's own function (sync or async), called with `{trigger_param: decoded_input}`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import azure.functions as func

from .mcp_triggers import TRIGGER_KINDS, McpFunction, tool_input_schema

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
    disabled: bool = False  # turned off by an AzureWebJobs.<function>.Disabled setting


@dataclass
class Registry:
    orchestrators: dict[str, DurableFunction] = field(default_factory=dict)  # key: lower-cased name
    activities: dict[str, DurableFunction] = field(default_factory=dict)  # key: lower-cased name (+ python __name__)
    entities: dict[str, DurableFunction] = field(default_factory=dict)  # key: lower-cased name
    http_functions: list[HttpFunction] = field(default_factory=list)
    mcp_functions: list[McpFunction] = field(default_factory=list)
    all_functions: list[FunctionInfo] = field(default_factory=list)

    def orchestrator(self, name: str) -> DurableFunction | None:
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> DurableFunction | None:
        return self.activities.get(name.lower())

    def entity(self, name: str) -> DurableFunction | None:
        return self.entities.get(name.lower())


# load_registry(app_dir) -> Registry lives below; it imports function_app.py once and indexes it.


_DURABLE_TRIGGERS: dict[str, tuple[DurableKind, str]] = {
    # trigger type -> (kind, the trigger attribute that may override the durable name)
    "orchestrationTrigger": ("orchestrator", "orchestration"),
    "activityTrigger": ("activity", "activity"),
    "entityTrigger": ("entity", "entity_name"),
}


def load_registry(app_dir: str | Path, *, disabled: Collection[str] = frozenset()) -> Registry:
    """Import `<app_dir>/function_app.py` once and index every function it declares; those named in `disabled`
    (lower-cased function names) are listed but not served or run.

    The app directory goes first on `sys.path` so `function_app.py` can import its sibling modules, exactly
    as the Functions Python worker arranges it. Any failure becomes an `AppLoadError` whose message is the
    reason a learner needs to see (missing file, the import error, a setting the app insisted on).
    """
    app_path = Path(app_dir).resolve()
    script = app_path / "function_app.py"
    if not app_path.is_dir():
        raise AppLoadError(f"App directory not found: {app_path}")
    if not script.is_file():
        raise AppLoadError(f"No function_app.py in {app_path}")

    module = _import_function_app(app_path, script)
    apps = list({id(v): v for v in vars(module).values() if isinstance(v, func.FunctionRegister)}.values())
    if not apps:
        raise AppLoadError(f"{script} defines no func.FunctionApp (or df.DFApp / AgentFunctionApp) object")

    registry = Registry()
    for app in apps:
        try:
            functions = app.get_functions()  # single-shot: a second call raises a duplicate-name error
        except Exception as error:
            raise AppLoadError(f"Indexing functions in {script} failed: {error}") from error
        for function in functions:
            name = function.get_function_name() or ""
            if name.lower() in disabled:
                trigger_type = getattr(function.get_trigger(), "type", "") or "unknown"
                registry.all_functions.append(FunctionInfo(name, trigger_type, disabled=True))
                continue
            _index(registry, function)
    return registry


def _import_function_app(app_path: Path, script: Path) -> ModuleType:
    if str(app_path) not in sys.path:
        sys.path.insert(0, str(app_path))
    importlib.invalidate_caches()
    sys.modules.pop("function_app", None)
    try:
        spec = importlib.util.spec_from_file_location("function_app", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["function_app"] = module
        spec.loader.exec_module(module)
    except BaseException as error:  # SystemExit from a settings check is a load error too
        sys.modules.pop("function_app", None)
        if isinstance(error, KeyboardInterrupt):
            raise
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        raise AppLoadError(f"Importing {script} failed: {detail}") from error
    return module


def _index(registry: Registry, function: Any) -> None:
    trigger = function.get_trigger()
    name = function.get_function_name()
    handler = function.get_user_function()
    trigger_type = getattr(trigger, "type", "") or ""

    if trigger_type == "httpTrigger":
        http = _http_function(function, trigger, name, handler)
        registry.http_functions.append(http)
        methods = ",".join(sorted(http.methods)) or "ALL"
        registry.all_functions.append(FunctionInfo(name, trigger_type, f"[{methods}] {http.route}"))
        return

    if trigger_type in _DURABLE_TRIGGERS:
        kind, name_attr = _DURABLE_TRIGGERS[trigger_type]
        durable_name = getattr(trigger, name_attr, None) or name
        durable = DurableFunction(kind, durable_name, name, handler, trigger.name)
        table = {"orchestrator": registry.orchestrators, "activity": registry.activities, "entity": registry.entities}[
            kind
        ]
        table[durable_name.lower()] = durable
        if kind == "activity":
            # `call_activity(fn_object)` sends the function's Python name, not the declared one (e.g. `hello`, not
            # `Greet` for `@app.function_name("Greet")`); the real host would not find it, this one does.
            python_name = getattr(getattr(handler, "client_function", handler), "__name__", None)
            if python_name:
                table.setdefault(python_name.lower(), durable)
        registry.all_functions.append(FunctionInfo(name, trigger_type, durable_name))
        return

    if trigger_type in TRIGGER_KINDS:
        mcp = _mcp_function(function, trigger, name, handler)
        registry.mcp_functions.append(mcp)
        registry.all_functions.append(FunctionInfo(name, trigger_type, f"MCP {mcp.kind} {mcp.name}"))
        return

    # Other triggers (timers, queues, ...) have no local runtime here; list them so nothing is silent.
    registry.all_functions.append(FunctionInfo(name, trigger_type or "unknown", "not run by the embedded host"))


def _http_function(function: Any, trigger: Any, name: str, handler: Callable[..., Any]) -> HttpFunction:
    route = getattr(trigger, "route", None) or name
    methods = frozenset(str(getattr(m, "value", m)).upper() for m in (getattr(trigger, "methods", None) or []))
    client_param, extras = _other_parameters(function, handler)
    return HttpFunction(name, route.strip("/"), methods, handler, trigger.name, client_param, extras)


def _mcp_function(function: Any, trigger: Any, name: str, handler: Callable[..., Any]) -> McpFunction:
    """An MCP trigger's function; a tool whose schema cannot be built fails the start, as under `func start`."""
    try:
        attributes = {str(k).lower(): v for k, v in trigger.get_dict_repr().items()}
    except Exception:  # a trigger class without a JSON form: read its public attributes instead
        attributes = {str(k).lower(): v for k, v in vars(trigger).items() if not str(k).startswith("_")}
    client_param, extras = _other_parameters(function, handler)
    mcp = McpFunction(TRIGGER_KINDS[trigger.type], name, handler, trigger.name, attributes, client_param, extras)
    try:
        if mcp.kind == "tool":
            tool_input_schema(mcp)
            mcp.metadata()
        elif mcp.kind == "prompt":
            mcp.prompt_arguments()
    except ValueError as error:
        raise AppLoadError(f"MCP {mcp.kind} function {error}") from None
    return mcp


def _other_parameters(function: Any, handler: Callable[..., Any]) -> tuple[str | None, tuple[str, ...]]:
    """The durableClient binding's parameter, if any, and the parameters that are no binding (`context`)."""
    client_param = next((b.name for b in function.get_bindings() if b.type == "durableClient"), None)
    binding_names = {b.name for b in function.get_bindings()}
    user_function = getattr(handler, "client_function", handler)  # the user's own signature
    parameters: list[str]
    try:
        parameters = list(inspect.signature(user_function).parameters)
    except (TypeError, ValueError):
        parameters = []
    return client_param, tuple(p for p in parameters if p not in binding_names)
