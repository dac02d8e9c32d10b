"""The embedded local Azure Functions host: runs an unchanged `function_app.py` without Core Tools.

    python -m helpers.host [APP_DIR] [--port 7071] [--state-db PATH] [--host 127.0.0.1]

How it is put together (one concept per module):
  settings.py        local.settings.json -> environment, host.json (route prefix, task hub name)
  registry.py        imports function_app.py once and indexes its functions
  routing.py         ASP.NET-style route templates for HTTP triggers
  http_functions.py  calls an HTTP function with its bindings and converts what it returns
  durable_urls.py    the management URLs and the `durableClient` binding the SDK client needs
  durable_api.py     the Durable Functions HTTP API under /runtime/webhooks/durabletask/
  mcp_triggers.py    MCP tool/resource/prompt triggers: schemas and the invocation context the extension sends
  mcp_server.py      the app's MCP server under /runtime/webhooks/mcp, on the official mcp SDK
  errors.py          JSON error answers and the request-body size limit
  engine/            the durable engine: histories, replay episodes, entities, SQLite store
  user_code.py       where user code runs (worker threads + one long-lived event loop)
  app.py, runtime.py the Starlette application and the state its handlers share
  __main__.py        the command line: start-up order, uvicorn, graceful shutdown
"""
