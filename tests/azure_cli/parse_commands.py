"""Check command lines with the Azure CLI's own parser, inside the test-only environment (.venv-azure-cli).

    .venv-azure-cli/bin/python tests/azure_cli/parse_commands.py < request.json > answer.json

The request: {"commands": [["group", "create", "--name", ...], ...], "scheduler_properties": {...}}. For each
command, `az` is invoked for real up to the point where it has parsed its arguments (the CLI's own command table,
argument definitions, required options and value choices), and stopped there: nothing is sent anywhere, no
sign-in is needed. A command the CLI does not have, an option it does not know or a required option left out
fails with the CLI's own message. The scheduler properties are compared with what the Durable Task Scheduler's
ARM models (azure-mgmt-durabletask) serialise for the same values.

Run by tests/azure_cli/test_azure_cli.py; this file imports only what .venv-azure-cli has.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any


class _Parsed(SystemExit):
    """Raised once the CLI has parsed a command: stop before it runs."""


def parse(argv: list[str]) -> dict[str, Any]:
    from azure.cli.core import get_default_cli
    from knack.events import EVENT_INVOKER_POST_PARSE_ARGS

    cli = get_default_cli()
    parsed: dict[str, str] = {}

    def stop(cli_ctx: Any, **kwargs: Any) -> None:
        parsed["command"] = kwargs["command"]
        raise _Parsed(0)

    cli.register_event(EVENT_INVOKER_POST_PARSE_ARGS, stop)
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage())

    handler = Collect(logging.ERROR)
    logging.getLogger("cli").addHandler(handler)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()  # the CLI's help and examples; its errors are logged
    try:
        code = cli.invoke(argv, out_file=sys.stdout)
    except SystemExit as stopped:
        code = stopped.code
    finally:
        sys.stdout, sys.stderr = saved
        logging.getLogger("cli").removeHandler(handler)
    ok = "command" in parsed
    return {"argv": argv, "ok": ok, "command": parsed.get("command"), "exit_code": code, "errors": errors}


def scheduler_properties(properties: dict[str, Any]) -> dict[str, Any]:
    from azure.mgmt.durabletask import models
    from azure.mgmt.durabletask._configuration import DurableTaskMgmtClientConfiguration

    sku = properties.get("sku") or {}
    expected = models.SchedulerProperties(
        ip_allowlist=properties.get("ipAllowlist"), sku=models.SchedulerSku(name=sku.get("name"))
    ).as_dict()
    return {
        "serialised": expected,
        "sku_names": [name.value for name in models.SchedulerSkuName],
        "api_version": DurableTaskMgmtClientConfiguration(credential=object(), subscription_id="x").api_version,
    }


def main() -> int:
    request = json.load(sys.stdin)
    from azure.cli.core import __version__ as cli_version

    answer = {
        "azure_cli": cli_version,
        "commands": [parse(argv) for argv in request.get("commands", [])],
        "scheduler": scheduler_properties(request["scheduler_properties"])
        if "scheduler_properties" in request
        else None,
    }
    json.dump(answer, sys.__stdout__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
