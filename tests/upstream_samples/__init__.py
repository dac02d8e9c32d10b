"""Agent Framework's own Azure Functions samples, run unchanged on the kit's host: `make test-af-samples`.

The samples are not in this repository (they are another project's code): the check takes the path of a checkout
of `python/samples/04-hosting/azure_functions` in the environment variable `KIT_AF_SAMPLES`, and without it
nothing here is collected (see conftest.py). For each sample folder it
- copies the folder and swaps the chat client in, and only that (sample_copy.py, kit_chat_client.py), then proves
  from the files that the copy differs from the sample in the client import alone;
- writes the settings the sample's local.settings.json template lists, with the kit's values for the model;
- starts the embedded host on the copy, with the offline model (and the kit's Redis where the sample needs one);
- drives the sample as its demo.http says (demo_http.py, replay.py), or as its README says where it has none
  (mcp_sample.py), and checks that each request ends as the sample says it does.
"""
