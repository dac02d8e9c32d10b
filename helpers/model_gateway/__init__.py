"""The kit's model gateway: a recording pass-through between the Functions app and its model backend.

    app (agents) --chat completions--> gateway (records the call) --unchanged--> offline model | Azure OpenAI | any
                                                                                 OpenAI-compatible server

Why a gateway, and not Agent Framework's OpenTelemetry `gen_ai` spans: the lessons show what the model was
*sent* (how many messages, which agent, when each call started and ended, what failed and why), whatever the
backend and whichever host runs the app — the embedded host or real `func start`. A loopback pass-through
sees exactly the requests and answers, including calls the SDK retries and calls that fail before a span would
say why, with no change to `functions_app/` and no telemetry pipeline to configure in it. It costs one
loopback hop per call (measured in `make bench`, beside a direct call).

Keys and Entra ID tokens pass through untouched and are never stored or logged: a record holds counts, times,
the agent's name, the model that answered, tokens and (for failed calls) the backend's error message with any
key scrubbed out.

    python -m helpers.model_gateway --upstream https://my-resource.openai.azure.com --port 8790
"""
