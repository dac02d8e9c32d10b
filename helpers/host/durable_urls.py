"""The URLs of the Durable Functions HTTP API, shaped as the Durable extension hands them out.

Two bases matter:
- `origin` — where the caller reached us (scheme://host:port). Every URL a user or notebook sees
  (`statusQueryGetUri`, `Location`, ...) starts with it, so it works from wherever the request came from.
- `rpc_origin` — the address of this server's own socket. The `durableClient` binding's `rpcBaseUrl` points
  there, because the SDK client inside a function calls back into this host over loopback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
INSTANCE_PLACEHOLDER = "INSTANCEID"  # the literal placeholder the SDK substitutes (managementUrls["id"])


@dataclass(frozen=True)
class DurableUrls:
    origin: str
    rpc_origin: str
    hub_name: str
    connection: str = "Storage"

    @property
    def base_url(self) -> str:
        return f"{self.origin}{WEBHOOK_PATH}"

    @property
    def rpc_base_url(self) -> str:
        return f"{self.rpc_origin}{WEBHOOK_PATH}/"  # the SDK appends paths, so keep the trailing slash

    def management_urls(self, instance_id: str) -> dict[str, str]:
        """The nine-key payload of `create_http_management_payload` / the start response."""
        instance = f"{self.base_url}/instances/{quote(instance_id, safe='')}"
        common = f"taskHub={quote(self.hub_name)}&connection={self.connection}"
        return {
            "id": instance_id,
            "purgeHistoryDeleteUri": f"{instance}?{common}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{common}",
            "statusQueryGetUri": f"{instance}?{common}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{common}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{common}",
            "restartPostUri": f"{instance}/restart?{common}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{common}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{common}",
        }

    def client_binding_json(self) -> str:
        """The string a `durableClient` binding receives (the shape the Durable extension's BindingHelper emits)."""
        management = self.management_urls(INSTANCE_PLACEHOLDER)
        orchestrators = f"{self.base_url}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.hub_name,
                "creationUrls": {
                    "createNewInstancePostUri": orchestrators,
                    "createAndWaitOnNewInstancePostUri": f"{orchestrators}?timeout={{timeoutInSeconds}}"
                    "&pollingInterval={intervalInSeconds}",
                },
                "managementUrls": management,
                "baseUrl": self.base_url,
                "requiredQueryStringParameters": "",
                "rpcBaseUrl": self.rpc_base_url,
                "httpBaseUrl": "",
                "connectionName": self.connection,
            }
        )
