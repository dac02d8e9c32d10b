"""The kit's Functions app plus the small orchestrations the lessons teach with, one module per lesson.

Everything in `functions_app/function_app.py` is here unchanged (the agents, the chaining and concurrency
orchestrations, their routes): `kit_app.py` loads it, and each module below adds its functions to that app.

- `replay_lessons.py`     notebook 04: is_replaying in logs; the non-determinism replay catches and the one it
                          does not, each with its fix.
- `sharing_lessons.py`    notebook 05: two orchestrations on one agent session chosen by its key.
- `human_in_the_loop.py`  notebook 06: a writer drafts, a person approves or rejects, a timer sets a deadline.
- `at_least_once.py`      notebook 07: side effects that run twice, idempotency keys, retries, failed model calls.
- `versioning_lessons.py` notebook 08: the activities of a newsletter whose orchestrator the notebook changes.

Start any orchestrator with the standard Durable HTTP API, `POST /runtime/webhooks/durabletask/orchestrators/<name>`
(the JSON body is its input); it answers `202 Accepted` with the instance's status URLs.
"""

import at_least_once  # noqa: F401 — each module registers its functions on `app` when imported
import human_in_the_loop  # noqa: F401
import replay_lessons  # noqa: F401
import sharing_lessons  # noqa: F401
import versioning_lessons  # noqa: F401

# The host looks for `app` here; the names beside it are what code deployed from a notebook (`kit.deploy`) uses.
from kit_app import CHEMIST_AGENT_NAME, PHYSICIST_AGENT_NAME, WRITER_AGENT_NAME, answer_text, app  # noqa: F401
