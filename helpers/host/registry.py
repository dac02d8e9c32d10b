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
