"""The one thing the check changes in an Agent Framework sample: which chat client its agents talk through.

This file is copied beside a sample's function_app.py, and the sample's import of its client class is pointed
here instead (tests/upstream_samples/sample_copy.py does that and proves nothing else changed). The samples build
`FoundryChatClient(project_endpoint=..., model=..., credential=AzureCliCredential())` from
`agent_framework.foundry`, or `OpenAIChatCompletionClient(...)` from `agent_framework.openai` with an Azure CLI
credential. Neither can run in the kit: agent-framework-foundry is not installed, and there is no Azure login.
So the same names here ignore what the sample passes and return the kit's own client,
`chat_client_from_environment()` (functions_app/model_client.py), which the check points at the offline model.
"""

import sys
from pathlib import Path

import helpers

# Appended, not put first: the sample's own modules, first on sys.path under the host, must win over the kit's.
sys.path.append(str(Path(helpers.__file__).resolve().parent.parent / "functions_app"))
from model_client import chat_client_from_environment


def _kit_client(*_args, **_kwargs):
    """The kit's chat client, whatever endpoint, model and credential the sample passed."""
    return chat_client_from_environment()


FoundryChatClient = _kit_client
OpenAIChatCompletionClient = _kit_client
