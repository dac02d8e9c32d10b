"""A deterministic, offline, OpenAI-compatible model server — a scripted responder, not an LLM.

It lets Agent Framework agents (and the durable agents built on them) run with no key and no network:
point `AZURE_OPENAI_ENDPOINT` (or an OpenAI `base_url`) at it. Replies are composed from templates,
depend on the whole conversation and the system instructions, and always say they come from an
offline model. Run it with `python -m helpers.offline_model --help`.
"""
# Nothing is imported here on purpose: `server` loads the openai package's types, which importing the package for
# one small module should not cost. Use `from helpers.offline_model.server import create_app`.
