"""An OpenAPI 3.0 description of what the embedded host serves: the Durable Functions HTTP API, the host's admin
routes and, when a host is running, the app's own HTTP-triggered functions.

Two readers: people learning the Durable HTTP API (the document is written to `docs/durable-http-api.yaml` and
linked from the README; every operation says what it does and what each answer means), and the kit's generated-
input tests (`tests/fuzz`), which hand it to Schemathesis: it draws requests from it and checks that every answer
has a documented status, content type and body shape. So the document is the host's contract, kept true by tests.

    python -m helpers.host.openapi > docs/durable-http-api.yaml     # the Durable API and the admin routes
    GET /admin/openapi.json                                          # the same, plus the running app's routes

Where the extension itself answers 500 the host does too, and the document says so: a start or in-place restart
of an instance id that is still running, and a rewind of an instance that is not Failed (see the README).
"""

from __future__ import annotations

import re
import sys
from typing import Any

from .durable_urls import WEBHOOK_PATH
from .registry import HttpFunction

OPENAPI_VERSION = "3.0.3"
RUNTIME_STATUSES = [
    "Pending",
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Terminated",
    "Suspended",
    "Canceled",
]

JSON = "application/json"
ANY_JSON: dict[str, Any] = {"description": "Any JSON value."}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, dict[str, Any]] = {
    "InstanceStatus": {
        "type": "object",
        "description": "An orchestration instance as the extension's status payload shows it.",
        "required": ["name", "instanceId", "runtimeStatus", "createdTime", "lastUpdatedTime"],
        "properties": {
            "name": {"type": "string", "description": "The orchestrator function's name."},
            "instanceId": {"type": "string"},
            "runtimeStatus": {"type": "string", "enum": RUNTIME_STATUSES},
            "input": {
                **ANY_JSON,
                "nullable": True,
                "description": "The input: the value itself when it was posted as plain JSON, the JSON text when "
                "the SDK's start_new sent it (JSON inside a JSON string). Null with showInput=false.",
            },
            "customStatus": {**ANY_JSON, "nullable": True, "description": "What set_custom_status last set."},
            "output": {
                **ANY_JSON,
                "nullable": True,
                "description": "The result when Completed; the error message when Failed; the reason when Terminated.",
            },
            "createdTime": {"type": "string", "format": "date-time"},
            "lastUpdatedTime": {"type": "string", "format": "date-time"},
            "historyEvents": {
                "type": "array",
                "description": "With showHistory=true: the history, one object per event, `EventType` by name "
                "(ExecutionStarted, TaskCompleted, ...).",
                "items": {"type": "object"},
            },
        },
    },
    "CheckStatusResponse": {
        "type": "object",
        "description": "The management URLs of a started instance (the extension's CreateCheckStatusResponse).",
        "required": ["id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"],
        "properties": {
            "id": {"type": "string"},
            "statusQueryGetUri": {"type": "string"},
            "sendEventPostUri": {"type": "string"},
            "terminatePostUri": {"type": "string"},
            "purgeHistoryDeleteUri": {"type": "string"},
            "restartPostUri": {"type": "string"},
            "suspendPostUri": {"type": "string"},
            "resumePostUri": {"type": "string"},
        },
    },
    "HostError": {
        "type": "object",
        "description": "An error this host reports in its own words (the extension sends no body for 404/410).",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "ExtensionError": {
        "type": "object",
        "description": "An error the extension reports through ASP.NET's CreateErrorResponse, with its wording "
        "(no .NET StackTrace).",
        "required": ["Message"],
        "properties": {
            "Message": {"type": "string"},
            "ExceptionMessage": {"type": "string"},
            "ExceptionType": {"type": "string"},
        },
    },
    "ErrorMessage": {"type": "string", "description": "An error the extension answers as a bare JSON string."},
    "PurgeResult": {
        "type": "object",
        "required": ["instancesDeleted"],
        "properties": {"instancesDeleted": {"type": "integer", "minimum": 1}},
    },
    "EntityListItem": {
        "type": "object",
        "required": ["entityId"],
        "properties": {
            "entityId": {
                "type": "object",
                "required": ["name", "key"],
                "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
            },
            "lastOperationTime": {"type": "string", "nullable": True},
            "state": {**ANY_JSON, "nullable": True, "description": "With fetchState=true."},
        },
    },
}


def _answer(description: str, schema: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {JSON: {"schema": schema}}
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    return answer


def _one_of(*names: str) -> dict[str, Any]:
    return {"oneOf": [_ref(name) for name in names]}


# Answers every Durable API route can give before its own logic runs.
BAD_QUERY = _answer(
    "A query parameter is malformed (a flag that is not true/false, a time that is not ISO 8601, a count that is "
    "not a whole number), or `taskHub` names another task hub on a start.",
    _one_of("HostError", "ExtensionError", "ErrorMessage"),
)
OTHER_HUB = _answer(
    "`taskHub` names a task hub this host does not serve: its instances are not here.", _ref("HostError")
)
TOO_LARGE = _answer(
    "The body is larger than the host accepts (`--max-body-bytes`, 8 MiB by default).", _ref("HostError")
)
UNKNOWN_INSTANCE = _answer("No instance has this id.", _ref("HostError"))
FINISHED = _answer("The instance has already finished.", _ref("HostError"))
STILL_RUNNING_500 = _answer(
    "The instance id is still Pending, Running or Suspended. The extension answers this with 500 too: DTFx's "
    "InvalidOperationException reaches the handler's catch-all. The running instance is left as it is.",
    _ref("ExtensionError"),
)


def _param(name: str, where: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema,
    }


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


FLAG = {"type": "boolean"}
INSTANCE_ID = _param("instanceId", "path", "The orchestration instance id.", {"type": "string", "minLength": 1})
TASK_HUB = _param(
    "taskHub", "query", "The task hub; only this host's own (host.json hubName) is served.", {"type": "string"}
)
CONNECTION = _param("connection", "query", "The storage connection's name; ignored here.", {"type": "string"})
CODE = _param(
    "code", "query", "A function key; ignored here, as under `func start` (no auth locally).", {"type": "string"}
)
COMMON = [TASK_HUB, CONNECTION, CODE]
REASON = _param("reason", "query", "Why; recorded in the history.", {"type": "string"})
WAIT = [
    _param(
        "timeout",
        "query",
        "Seconds to wait for the instance to finish before answering (with pollingInterval): a finite number, at "
        "least 0. A value that is not a number is ignored, as the extension ignores it.",
        {"type": "number", "minimum": 0},
    ),
    _param(
        "pollingInterval",
        "query",
        "Seconds between checks while waiting (with timeout); not larger than timeout.",
        {"type": "number", "minimum": 0},
    ),
]
FILTERS = [
    _param(
        "runtimeStatus",
        "query",
        "Comma-separated runtime statuses to keep, e.g. `Running,Pending`.",
        {"type": "string", "example": "Completed,Failed"},
    ),
    _param(
        "createdTimeFrom",
        "query",
        "Only instances created at or after this time.",
        {"type": "string", "format": "date-time"},
    ),
    _param(
        "createdTimeTo",
        "query",
        "Only instances created at or before this time.",
        {"type": "string", "format": "date-time"},
    ),
    _param("instanceIdPrefix", "query", "Only instances whose id starts with this text.", {"type": "string"}),
]
ANY_BODY = {"required": False, "content": {JSON: {"schema": ANY_JSON}}}


def durable_api_paths() -> dict[str, Any]:
    """The Durable Functions HTTP API under /runtime/webhooks/durabletask, as durable_api.py serves it."""
    start_answers = {
        "202": _answer(
            "Started: the management URLs, `Location` (the status URL) and `Retry-After`. With `timeout` and "
            "`pollingInterval`, also what the wait ended with when the instance is still running.",
            _ref("CheckStatusResponse"),
            Location="The status URL.",
            **{"Retry-After": "Seconds to wait before polling."},
        ),
        "200": _answer(
            "With `timeout`: the instance finished in time. Completed: the body is its output; Failed, Terminated "
            "or Canceled: the body is its status.",
            ANY_JSON,
        ),
        "400": _answer(
            "No orchestrator of that name (the message lists the app's), an instance id the extension refuses "
            "(starting with `@`, holding `/ \\ # ?` or a control character, or longer than 256 characters), a body "
            "that is not JSON, a `pollingInterval` larger than `timeout`, a malformed query, or another task hub.",
            _one_of("ExtensionError", "HostError"),
        ),
        "404": _answer("No route has this path: a name or id holding a line break matches none.", _ref("HostError")),
        "413": TOO_LARGE,
        "500": STILL_RUNNING_500,
    }
    start = {
        "summary": "Start an orchestration",
        "description": "Starts the orchestrator `name` with the JSON body as its input (plain JSON, or the SDK's "
        "JSON inside a JSON string). An instance id that is finished is replaced; one still running is refused.",
        "requestBody": ANY_BODY,
        "responses": start_answers,
    }
    start_params = [
        _param(
            "name", "path", "The orchestrator function's name (case-insensitive).", {"type": "string", "minLength": 1}
        ),
        _param(
            "version", "query", "The orchestration version (default: host.json defaultVersion).", {"type": "string"}
        ),
        *WAIT,
        *COMMON,
    ]
    status_answers = {
        "200": _answer("The instance has finished (Completed, Failed, Terminated, Canceled).", _ref("InstanceStatus")),
        "202": _answer(
            "The instance is still Pending, Running or Suspended.",
            _ref("InstanceStatus"),
            Location="This status URL.",
            **{"Retry-After": "Seconds to wait before polling again."},
        ),
        "400": BAD_QUERY,
        "404": _answer("No instance has this id, or `taskHub` names another task hub.", _ref("HostError")),
        "500": _answer(
            "The instance Failed and `returnInternalServerErrorOnFailure=true` asked for 500.", _ref("InstanceStatus")
        ),
    }
    operation_answers = {
        "202": _answer("Accepted."),
        "400": BAD_QUERY,
        "404": _answer("No instance has this id, or `taskHub` names another task hub.", _ref("HostError")),
        "410": FINISHED,
    }
    instance = f"{WEBHOOK_PATH}/instances/{{instanceId}}"
    entity = f"{WEBHOOK_PATH}/entities/{{name}}/{{key}}"
    entity_name = _param(
        "name", "path", "The entity function's name (case-insensitive).", {"type": "string", "minLength": 1}
    )
    entity_key = _param("key", "path", "The entity instance's key.", {"type": "string", "minLength": 1})
    return {
        f"{WEBHOOK_PATH}/orchestrators/{{name}}": {
            "post": {**start, "operationId": "startOrchestration", "parameters": start_params}
        },
        f"{WEBHOOK_PATH}/orchestrators/{{name}}/{{instanceId}}": {
            "post": {**start, "operationId": "startOrchestrationWithId", "parameters": [INSTANCE_ID, *start_params]}
        },
        f"{WEBHOOK_PATH}/instances": {
            "get": {
                "operationId": "listInstances",
                "summary": "List instances",
                "description": "Every instance matching the filters, oldest first, in one answer (no continuation "
                "tokens).",
                "parameters": [
                    *FILTERS,
                    _param(
                        "top", "query", "At most this many.", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
                    ),
                    _param("showInput", "query", "Include each input (default true).", FLAG),
                    *COMMON,
                ],
                "responses": {
                    "200": _answer("The matching instances.", {"type": "array", "items": _ref("InstanceStatus")}),
                    "400": BAD_QUERY,
                    "404": OTHER_HUB,
                },
            },
            "delete": {
                "operationId": "purgeInstances",
                "summary": "Purge finished instances by filter",
                "description": "Deletes the history of every finished instance matching the filters "
                "(`createdTimeFrom` is required, as in the extension). Running instances are kept.",
                "parameters": [{**FILTERS[1], "required": True}, FILTERS[0], FILTERS[2], FILTERS[3], *COMMON],
                "responses": {
                    "200": _answer("How many were deleted.", _ref("PurgeResult")),
                    "400": BAD_QUERY,
                    "404": _answer(
                        "No finished instance matched, or `taskHub` names another task hub.", _ref("HostError")
                    ),
                },
            },
        },
        instance: {
            "get": {
                "operationId": "getInstanceStatus",
                "summary": "Get an instance's status",
                "parameters": [
                    INSTANCE_ID,
                    _param("showHistory", "query", "Include the history (default false).", FLAG),
                    _param("showHistoryOutput", "query", "Include activity outputs in the history.", FLAG),
                    _param("showInput", "query", "Include the input (default true).", FLAG),
                    _param("returnInternalServerErrorOnFailure", "query", "Answer 500 for a Failed instance.", FLAG),
                    *COMMON,
                ],
                "responses": status_answers,
            },
            "delete": {
                "operationId": "purgeInstance",
                "summary": "Purge one finished instance",
                "parameters": [INSTANCE_ID, *COMMON],
                "responses": {
                    "200": _answer("Deleted.", _ref("PurgeResult")),
                    "404": _answer("No instance has this id, or another task hub.", _ref("HostError")),
                    "412": _answer(
                        "The instance is still running: current extensions refuse the purge.", _ref("ErrorMessage")
                    ),
                },
            },
        },
        f"{instance}/raiseEvent/{{eventName}}": {
            "post": {
                "operationId": "raiseEvent",
                "summary": "Send an external event",
                "description": "Delivers the body text, as sent, to `wait_for_external_event(eventName)`; the "
                "body must be JSON sent as `application/json` (or empty, for a null event).",
                "parameters": [
                    INSTANCE_ID,
                    _param("eventName", "path", "The event's name.", {"type": "string", "minLength": 1}),
                    *COMMON,
                ],
                "requestBody": ANY_BODY,
                "responses": {
                    **operation_answers,
                    "400": _answer(
                        "The body is not JSON, or not sent as application/json; or a malformed query.",
                        _one_of("ExtensionError", "HostError"),
                    ),
                    "413": TOO_LARGE,
                },
            }
        },
        **{
            f"{instance}/{operation}": {
                "post": {
                    "operationId": f"{operation}Instance",
                    "summary": summary,
                    "parameters": [INSTANCE_ID, REASON, *COMMON],
                    "responses": operation_answers,
                }
            }
            for operation, summary in (
                ("terminate", "Terminate a running instance"),
                ("suspend", "Suspend a running instance (it keeps its events until resumed)"),
                ("resume", "Resume a suspended instance"),
            )
        },
        f"{instance}/restart": {
            "post": {
                "operationId": "restartInstance",
                "summary": "Start an instance's orchestrator again with its original input",
                "parameters": [
                    INSTANCE_ID,
                    _param("restartWithNewInstanceId", "query", "Use a new id (default true).", FLAG),
                    *WAIT,
                    *COMMON,
                ],
                "responses": {
                    "202": start_answers["202"],
                    "200": start_answers["200"],
                    "400": _answer(
                        "No instance has this id, or a malformed query.", _one_of("ExtensionError", "HostError")
                    ),
                    "404": OTHER_HUB,
                    "500": STILL_RUNNING_500,
                },
            }
        },
        f"{instance}/rewind": {
            "post": {
                "operationId": "rewindInstance",
                "summary": "Rewind a Failed instance",
                "description": "Failed work runs again; completed work is kept (see the README).",
                "parameters": [INSTANCE_ID, REASON, *COMMON],
                "responses": {
                    "202": _answer("Rewound: it runs again."),
                    "400": BAD_QUERY,
                    "404": UNKNOWN_INSTANCE,
                    "410": _answer("The instance Completed, was Terminated or Canceled.", _ref("HostError")),
                    "500": _answer(
                        "The instance is still running. The extension answers this with 500 too "
                        "(DurableClient.RewindAsync's InvalidOperationException in the handler's catch-all).",
                        _ref("ExtensionError"),
                    ),
                },
            }
        },
        f"{WEBHOOK_PATH}/entities": {
            "get": {
                "operationId": "listEntities",
                "summary": "List entities",
                "parameters": [_param("fetchState", "query", "Include each entity's state.", FLAG), *COMMON],
                "responses": {
                    "200": _answer("The entities.", {"type": "array", "items": _ref("EntityListItem")}),
                    "400": BAD_QUERY,
                    "404": OTHER_HUB,
                },
            }
        },
        f"{WEBHOOK_PATH}/entities/{{name}}": {
            "get": {
                "operationId": "listEntitiesByName",
                "summary": "List the entities of one entity function",
                "parameters": [
                    entity_name,
                    _param("fetchState", "query", "Include each entity's state.", FLAG),
                    *COMMON,
                ],
                "responses": {
                    "200": _answer("The entities.", {"type": "array", "items": _ref("EntityListItem")}),
                    "400": BAD_QUERY,
                    "404": OTHER_HUB,
                },
            }
        },
        entity: {
            "get": {
                "operationId": "readEntity",
                "summary": "Read an entity's state",
                "parameters": [entity_name, entity_key, *COMMON],
                "responses": {
                    "200": _answer("The state itself.", ANY_JSON),
                    "404": _answer("The entity does not exist, or another task hub.", _ref("HostError")),
                },
            },
            "post": {
                "operationId": "signalEntity",
                "summary": "Signal an entity",
                "description": "Queues operation `op` with the body as its input: parsed as JSON when sent as "
                "application/json, taken as text otherwise.",
                "parameters": [
                    entity_name,
                    entity_key,
                    _param("op", "query", "The operation's name (empty when missing).", {"type": "string"}),
                    *COMMON,
                ],
                "requestBody": {
                    "required": False,
                    "content": {JSON: {"schema": ANY_JSON}, "text/plain": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "202": _answer("Queued."),
                    "400": _answer(
                        "No entity function of that name, a body sent as JSON that is not JSON, or another task hub.",
                        _one_of("ExtensionError", "HostError"),
                    ),
                    "404": OTHER_HUB,
                    "413": TOO_LARGE,
                },
            },
        },
    }


def admin_paths() -> dict[str, Any]:
    """The embedded host's own routes (real `func start` has its own admin API, not these)."""
    return {
        "/admin/host/status": {
            "get": {
                "operationId": "hostStatus",
                "summary": "Readiness: Running once every function is indexed",
                "responses": {"200": _answer("The host's state.", {"type": "object", "required": ["state"]})},
            }
        },
        "/admin/functions": {
            "get": {
                "operationId": "listFunctions",
                "summary": "The function index: name, trigger, and the route and URL of HTTP functions",
                "responses": {"200": _answer("The functions.", {"type": "array", "items": {"type": "object"}})},
            }
        },
        "/admin/instances/{instanceId}/history": {
            "get": {
                "operationId": "storedHistory",
                "summary": "An instance's history as the orchestrator is fed it (the replay stepper reads it)",
                "parameters": [INSTANCE_ID],
                "responses": {
                    "200": _answer("The stored history.", {"type": "object", "required": ["instanceId", "history"]}),
                    "404": UNKNOWN_INSTANCE,
                },
            }
        },
        "/admin/openapi.json": {
            "get": {
                "operationId": "openApi",
                "summary": "This document, with the running app's HTTP functions",
                "responses": {"200": _answer("An OpenAPI 3.0 document.", {"type": "object"})},
            }
        },
    }


_TEMPLATE_PARAMETER = re.compile(r"\{\*?([\w.-]+)[^}]*\}")


def app_paths(functions: list[HttpFunction], route_prefix: str) -> dict[str, Any]:
    """The app's HTTP-triggered functions: paths from their route templates, any body, any answer.

    Their contract is the app's: the document says which routes and methods exist and that a failure of the
    function itself is a 500 (as under the Functions host), not what the bodies hold.
    """
    paths: dict[str, Any] = {}
    prefix = f"/{route_prefix}" if route_prefix else ""
    for function in functions:
        path = prefix + "/" + _TEMPLATE_PARAMETER.sub(lambda m: "{" + m.group(1) + "}", function.route.strip("/"))
        names = _TEMPLATE_PARAMETER.findall(function.route)
        methods = sorted(function.methods) or ["GET", "POST", "PUT", "DELETE", "PATCH"]
        for method in methods:
            operation: dict[str, Any] = {
                "operationId": f"{function.function_name}.{method.lower()}",
                "summary": f"The app's function {function.function_name}",
                "parameters": [
                    _param(name, "path", "A route parameter.", {"type": "string", "minLength": 1}) for name in names
                ],
                "responses": {
                    "default": {"description": "Whatever the function answers."},
                    "404": _answer(
                        "The route's constraints refuse the value (no function handles it).", _ref("HostError")
                    ),
                    "413": TOO_LARGE,
                },
            }
            if method not in ("GET", "HEAD", "DELETE"):
                operation["requestBody"] = {
                    "required": False,
                    "content": {JSON: {"schema": ANY_JSON}, "text/plain": {"schema": {"type": "string"}}},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return paths


def document(functions: list[HttpFunction] | None = None, route_prefix: str = "api") -> dict[str, Any]:
    """The whole description; with `functions`, the app's routes too."""
    paths = {**durable_api_paths(), **admin_paths()}
    if functions:
        paths.update(app_paths(functions, route_prefix))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Durable Functions HTTP API, as the kit's embedded host serves it",
            "version": "1.0.0",
            "description": __doc__.split("\n\n")[0].replace("\n", " ")
            + " Status codes follow the Durable extension's HttpApiHandler; where this host answers in its own "
            "words it says so (`HostError`). The same routes answer under `func start`.",
        },
        "servers": [{"url": "http://127.0.0.1:7071", "description": "python -m helpers.host (or func start)"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }


def as_yaml(description: dict[str, Any]) -> str:
    """YAML for people: every shared piece written out in full where it is used (no `&id001` anchors)."""
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no type information

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(description, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=110)


def main() -> int:
    text = as_yaml(document())
    sys.stdout.write("# Written by `python -m helpers.host.openapi`; do not edit (tests check it is current).\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
