"""The kit's Functions app (`functions_app/function_app.py`), loaded once, for the lesson modules to extend.

A plain `import function_app` would find the teaching app's own `function_app.py` first; loading the kit's file
by path, under a name of its own, keeps the two apart. Every lesson module imports `app` from here and adds its
functions to that one `AgentFunctionApp`: one app, one set of agents, the kit's routes unchanged.
"""

import importlib.util
import sys
from pathlib import Path

KIT_APP_DIR = Path(__file__).resolve().parents[3] / "functions_app"


def _load_kit_app():
    if "kit_function_app" in sys.modules:
        return sys.modules["kit_function_app"]
    sys.path.insert(0, str(KIT_APP_DIR))  # the kit's function_app.py imports its sibling model_client.py
    spec = importlib.util.spec_from_file_location("kit_function_app", KIT_APP_DIR / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


kit = _load_kit_app()
app = kit.app  # one AgentFunctionApp: the kit's functions plus the lessons'
answer_text = kit.answer_text
WRITER_AGENT_NAME = kit.WRITER_AGENT_NAME
PHYSICIST_AGENT_NAME = kit.PHYSICIST_AGENT_NAME
CHEMIST_AGENT_NAME = kit.CHEMIST_AGENT_NAME
