"""The public Durable Functions HTTP API: start instances, raise events, read status, history and entities.

Everything a notebook learns about an orchestration comes through `/runtime/webhooks/durabletask/...` and
the host's `/admin/functions`, which real `func start` answers too; nothing here reads the embedded host's
SQLite file. `DurableApiClient` is mixed into the running kit (`Lab`), so notebooks call `kit.history_table(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ..durable_vocabulary import agent_entity_name
from .errors import LabError
from .views import Table, conversation_rows, decode_nested, entity_calls, history_rows

DURABLE_API = "/runtime/webhooks/durabletask"
CONTINUATION_HEADER = "x-ms-continuation-token"  # how the Durable HTTP API pages long lists
MAX_PAGES = 1000  # a server that keeps answering with a continuation token must not loop us forever


class DurableApiClient:
    """The Durable HTTP API for a kit that has `base_url`, `host_kind` and an `httpx.Client` in `_http`."""

    host_kind: str
    _http: httpx.Client

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` of the host (the kit's own property)."""
        raise NotImplementedError

    def durable_url(self, path: str) -> str:
        return f"{self.base_url}{DURABLE_API}/{path.lstrip('/')}"

    def _durable_get(
        self, path: str, *, what: str, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """GET on the Durable HTTP API; any answer >= 400 except 404 becomes a LabError that says which host.

        Why: a backend may not support a query the embedded host answers (e.g. `showHistory` on some
        storage providers under `func start`); a bare `HTTPStatusError` would not say so.
        """
        response = self._http.get(self.durable_url(path), params=params, headers=headers)
        if response.status_code >= 400 and response.status_code != 404:
            raise LabError(_durable_api_error(self.host_kind, what, response))
        return response

    def start_orchestration(
        self, name: str, input: Any = None, *, instance_id: str | None = None, version: str | None = None
    ) -> dict[str, Any]:
        """Start orchestrator `name` with the standard route (`POST .../orchestrators/{name}[/{instanceId}]`).

        `version`: the orchestration version the instance gets (`?version=`); without it, the host's host.json
        `defaultVersion`. Returns the `202 Accepted` body: the instance `id` and its management URLs
        (`statusQueryGetUri`, `sendEventPostUri`, ...). Real Functions answers the same route the same way.
        """
        path = f"orchestrators/{quote(name, safe='')}" + (f"/{quote(instance_id, safe='')}" if instance_id else "")
        params = {"version": version} if version is not None else None
        response = self._http.post(self.durable_url(path), json=input, params=params)
        if response.status_code != 202:
            raise LabError(f"Starting orchestrator {name!r} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> int:
        """Send external event `event_name` with JSON `data` to an instance (`POST .../raiseEvent/{event}`).

        Returns the status code (202: accepted). An instance that does not exist (404) or has finished (410)
        raises a `LabError` that says so.
        """
        path = f"instances/{quote(instance_id, safe='')}/raiseEvent/{quote(event_name, safe='')}"
        response = self._http.post(self.durable_url(path), json=data)
        if response.status_code == 404:
            raise LabError(f"No instance {instance_id!r} to send {event_name!r} to.")
        if response.status_code == 410:
            raise LabError(f"Instance {instance_id} has already finished; it no longer takes {event_name!r}.")
        if response.status_code >= 400:
            raise LabError(f"Raising {event_name!r} answered {response.status_code}: {response.text[:300]}")
        return response.status_code

    def terminate(self, instance_id: str, reason: str = "") -> int:
        """End a running instance (`POST .../instances/{id}/terminate?reason=`); 202 accepted, 410 already done."""
        path = f"instances/{quote(instance_id, safe='')}/terminate"
        response = self._http.post(self.durable_url(path), params={"reason": reason})
        if response.status_code == 404:
            raise LabError(f"No instance {instance_id!r} to terminate.")
        return response.status_code

    def restart_instance(self, instance_id: str, *, new_instance_id: bool = False) -> str:
        """Run a finished instance again from the start, with its input (`POST .../instances/{id}/restart`).

        With `new_instance_id=False` the new run keeps the same id (and replaces the old history). Returns the
        id of the new run.
        """
        path = f"instances/{quote(instance_id, safe='')}/restart"
        response = self._http.post(
            self.durable_url(path), params={"restartWithNewInstanceId": str(new_instance_id).lower()}
        )
        if response.status_code != 202:
            raise LabError(f"Restarting instance {instance_id} answered {response.status_code}: {response.text[:300]}")
        body = _json_or_none(response)
        return body.get("id", instance_id) if isinstance(body, dict) else instance_id

    def ask_agent(self, agent_name: str, message: str, session_id: str, *, timeout: float = 300.0) -> dict[str, Any]:
        """Send `message` to an agent's own route (`POST /api/agents/<agent>/run`) and return its answer.

        The route waits up to 30 s for the model (Agent Framework's default); a slower model makes it answer
        `status: timeout` while the agent goes on. Then this waits for the answer in the agent's entity, so a
        slow model gives the same result as a fast one: `{"status", "response", "message_count", "session_id"}`.
        """
        import time

        response = self._http.post(
            f"{self.base_url}/api/agents/{quote(agent_name, safe='')}/run",
            json={"message": message, "session_id": session_id},
            timeout=timeout,
        )
        reply = _json_or_none(response)
        if not isinstance(reply, dict):
            raise LabError(f"The {agent_name} route answered {response.status_code}: {response.text[:300]}")
        if reply.get("status") != "timeout":
            return reply
        deadline = time.monotonic() + timeout
        entity = agent_entity_name(agent_name)
        while time.monotonic() < deadline:
            rows = conversation_rows(self.entity_state(entity, session_id))
            if rows.rows and rows[-1]["role"] == "assistant" and rows[-1]["text"].strip():
                return {**reply, "status": "success", "response": rows[-1]["text"], "message_count": len(rows)}
            time.sleep(0.5)
        raise LabError(f"{agent_name} did not answer within {timeout:.0f} s (session {session_id!r}).")

    def status(self, instance_id: str, *, history: bool = False) -> dict[str, Any]:
        """The Durable HTTP API's status of one instance (with `historyEvents` when `history=True`)."""
        params = {"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"} if history else {}
        what = f"the {'history' if history else 'status'} of instance {instance_id}"
        response = self._http.get(self.durable_url(f"instances/{quote(instance_id, safe='')}"), params=params)
        if response.status_code == 404:
            raise LabError(f"No orchestration instance {instance_id!r} on this host.")
        body = _json_or_none(response)
        # With returnInternalServerErrorOnFailure the API answers a *failed instance* with 500 and its status.
        if response.status_code >= 400 and not (isinstance(body, dict) and "runtimeStatus" in body):
            raise LabError(_durable_api_error(self.host_kind, what, response))
        return body

    def instances(self, *runtime_statuses: str) -> list[dict[str, Any]]:
        """Every instance on the host (`GET .../instances`), or those in the given runtime statuses, all pages.

        `kit.instances("Pending", "Running", "Suspended")` is what is still in flight: the list to watch empty
        before you deploy a change that in-flight instances could not replay ("drain first").
        """
        params = {"runtimeStatus": ",".join(runtime_statuses)} if runtime_statuses else {}
        found: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            response = self._durable_get(
                "instances",
                what="the list of instances",
                params=params,
                headers={CONTINUATION_HEADER: token} if token else None,
            )
            if response.status_code == 404:
                return found
            found.extend(response.json() or [])
            next_token = response.headers.get(CONTINUATION_HEADER)
            if not next_token or next_token == token:
                return found
            token = next_token
        raise LabError(f"Listing instances: still more pages after {MAX_PAGES}; giving up.")

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The raw `historyEvents` of an instance (showHistory + showHistoryOutput)."""
        return list(self.status(instance_id, history=True).get("historyEvents") or [])

    def history_table(self, instance_id: str, *, timestamps: bool = False) -> Table:
        """The instance's history as a table: event, name, task id and an excerpt of what it carries."""
        table = history_rows(self.history(instance_id), timestamps=timestamps)
        table.title = "history of instance " + instance_id
        return table

    def entity_calls_of(self, instance_id: str) -> list[dict[str, str]]:
        """The entity operations an orchestration sent (entity name, key = session, operation), in order."""
        return entity_calls(self.history(instance_id))

    def entity_state(self, entity_name: str, key: str) -> Any:
        """An entity's state via `GET /runtime/webhooks/durabletask/entities/{name}/{key}`."""
        response = self._durable_get(
            f"entities/{quote(entity_name, safe='')}/{quote(key, safe='')}",
            what=f"the state of entity {entity_name}/{key}",
        )
        if response.status_code == 404:
            raise LabError(f"No entity {entity_name}/{key} on this host (yet).")
        return decode_nested(response.json())

    def entity_conversation(self, agent_name: str, session_key: str) -> Table:
        """The agent's conversation for one session: one row per message (role, text)."""
        entity = agent_entity_name(agent_name)
        table = conversation_rows(self.entity_state(entity, session_key))
        table.title = f"{entity} / {session_key}"
        return table

    def find_agent_sessions(self, agent_name: str) -> list[str]:
        """The session keys of every `dafx-<agent_name>` entity that exists on this host (all pages)."""
        entity_name = agent_entity_name(agent_name)
        keys: list[str] = []
        for page in self._entity_pages(entity_name):
            keys.extend(entity_keys(page))
        return keys

    def _entity_pages(self, entity_name: str) -> list[Any]:
        """Every page of `GET .../entities/{name}`, following the `x-ms-continuation-token` response header.

        The real extension answers a list query one page at a time and puts the token for the next page in
        that header; the client sends it back as a request header. The embedded host answers in one page.
        """
        pages: list[Any] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            response = self._durable_get(
                f"entities/{quote(entity_name, safe='')}",
                what=f"the list of {entity_name} entities",
                params={"fetchState": "false"},
                headers={CONTINUATION_HEADER: token} if token else None,
            )
            if response.status_code == 404:  # no entity function of that name, or no entities yet
                return pages
            pages.append(response.json())
            next_token = response.headers.get(CONTINUATION_HEADER)
            if not next_token or next_token == token:
                return pages
            token = next_token
        raise LabError(f"Listing {entity_name} entities: still more pages after {MAX_PAGES}; giving up.")

    def functions(self) -> Table:
        """The app's functions as the host indexed them (`GET /admin/functions`): name, trigger, route."""
        response = self._http.get(self.base_url + "/admin/functions")
        response.raise_for_status()
        rows = []
        for item in response.json():
            trigger, route, methods = item.get("trigger"), item.get("route"), item.get("methods")
            for binding in (item.get("config") or {}).get("bindings") or []:  # `func start` answers this way
                if str(binding.get("type", "")).endswith("Trigger"):
                    trigger = binding["type"]
                    route, methods = binding.get("route"), binding.get("methods")
            http = f"{'/'.join(m.upper() for m in methods or []) or 'ANY'} /api/{route}" if route else ""
            rows.append({"function": item.get("name"), "trigger": trigger, "http": http})
        return Table(("function", "trigger", "http"), rows)


def entity_keys(page: Any) -> list[str]:
    """The entity keys in one page of the Durable API's entity list (a list, or {"entities": [...]})."""
    items = page.get("entities", page) if isinstance(page, dict) else page
    keys = []
    for item in items or []:
        entity = item.get("entityId") or item.get("EntityId") or {}
        key = entity.get("key") or entity.get("Key")
        if key is not None:
            keys.append(key)
    return keys


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _durable_api_error(host_kind: str, what: str, response: httpx.Response) -> str:
    """A LabError message for a Durable API answer >= 400: which host, what was asked, what it said."""
    host = "`func start` (Azure Functions Core Tools)" if host_kind == "func" else "embedded host"
    hint = ""
    if response.status_code >= 500 and host_kind == "func":
        hint = (
            " The Durable extension or its storage backend failed or does not support this query (some "
            "backends cannot return history with showHistory=true); the func log (kit.host_log()) says which."
        )
    return (
        f"The {host}'s Durable HTTP API answered {response.status_code} when asked for {what}: "
        f"{response.text[:300]}.{hint}"
    )
