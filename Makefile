# Durable Agents notebook kit — every command a learner, host or CI needs.
#   make lab    set up if needed, then open JupyterLab on notebooks/
#   make demo   headless: run both orchestrations against the embedded host + offline model
#   make test   set up if needed, then pytest (tests/) and nbval (notebooks/)
#   make test-own-model  every lesson with LAB_MODEL=env against model servers posing as your own
#   make test-azure-cli  every az command lesson 11 shows, checked by the real Azure CLI's parser (no login)
#   make test-af-samples AF_SAMPLES=<path>  Agent Framework's Azure Functions samples, unchanged but for the chat client
#   make rehearse  rehearse deploying functions_app/ to Azure, offline (lesson 11); leaves the zip in build/azure/
#   make setup  create .venv at the repo root, install requirements.txt and the kit (editable), register a kernel
#   make notebooks  re-execute every notebook and save its outputs (what nbval compares)
#   make bench  benchmarks of the embedded host
#   make browser-check  run lessons in JupyterLab in headless Chromium; check what the page shows; screenshots
#   make fuzz   10,000 generated requests against a running kit: no crash, hang, undocumented 5xx or damaged state
#   make lint   ruff (lint + format check, notebooks included), mypy, vulture and zizmor; what CI and pre-commit run
#   make clean  remove .venv, caches and local state

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements

.PHONY: lint format setup bytecode lab demo test test-py test-notebooks test-own-model test-azure-cli test-af-samples af-samples-folder rehearse bench browser-check fuzz notebooks executed-notebooks clean

# The same kernel inside .venv itself, where only this clone's JupyterLab looks (`make lab` puts it first).
VENV_JUPYTER := $(CURDIR)/$(VENV)/share/jupyter
VENV_KERNEL := $(VENV)/share/jupyter/kernels/durable-agents-kit/kernel.json

setup: $(STAMP) $(VENV_KERNEL)

# The Jupyter kernel `make setup` registers for this .venv, so VS Code or a JupyterLab of your own finds it.
# It is registered for your user, so the last `make setup` of several clones wins: give each its own name.
KERNEL_NAME ?= durable-agents-kit

# uv installs the pinned requirements (into .venv, with pip's semantics) about ten times faster than pip, and
# compiles them to bytecode at once, as pip does: otherwise the first runs of the kit would compile them.
# Offline, from a folder of wheels (see the facilitator guide): make setup WHEELS=wheels
UV_VERSION := 0.13.8
WHEELS ?=
UV_SOURCE := $(if $(WHEELS),--no-index --find-links $(WHEELS),)
UV := $(VENV)/bin/uv

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; ok = (3, 11) <= v < (3, 14); \
	  sys.exit(0 if ok else f"Python {v[0]}.{v[1]} found; the kit needs Python 3.11-3.13 (set PYTHON=python3.11 for example).")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet $(if $(WHEELS),--no-index --find-links $(WHEELS),) uv==$(UV_VERSION)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) $(UV_SOURCE) -r requirements.txt
	$(UV) pip install --quiet --python $(PY) $(UV_SOURCE) --no-deps --editable .
	$(PY) -m ipykernel install --user --name $(KERNEL_NAME) --display-name "Python (durable agents kit)" >/dev/null
	@touch $(STAMP)

$(VENV_KERNEL): $(STAMP)
	$(PY) -m ipykernel install --sys-prefix --name durable-agents-kit --display-name "Python (durable agents kit)" >/dev/null

# The kit's own modules compiled ahead of time, every time (only changed files are recompiled). Python reads
# .pyc files even where PYTHONDONTWRITEBYTECODE (set in many containers and CI images) stops it writing them;
# without this, each of the ~200 host, model, gateway and kernel processes of a test run compiles them again.
bytecode: setup
	@$(PY) -m compileall -q -j 0 helpers functions_app notebooks/apps tests bench >/dev/null

# Jupyter refuses to run as root unless told; workshop containers and CI images often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

# JUPYTER_PATH first: notebooks ask for the kernel `durable-agents-kit`, and this clone's own .venv must answer,
# whichever clone last registered that name for the user.
# A kernel gets 3 minutes to answer its first request instead of Jupyter's 60 s: in a room of learners on one
# machine, many kernels and kits start at once (bench/workshop_room.py saw a kernel take longer than 60 s).
KERNEL_START_SECONDS ?= 180

lab: bytecode $(VENV_KERNEL)
	JUPYTER_PATH=$(VENV_JUPYTER) $(PY) -m jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 \
	  --MappingKernelManager.kernel_info_timeout=$(KERNEL_START_SECONDS) $(ALLOW_ROOT)

demo: bytecode
	$(PY) -m helpers.demo

# One pytest run for the tests and every notebook (lessons and solutions), spread over TEST_WORKERS processes:
# most tests wait on services and model latency, so more workers than cores still pays. Each notebook stays
# on one worker (--dist loadscope), as nbval needs. Results for CI in build/test-results/.
TEST_WORKERS ?= 4
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg
PYTEST := $(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope

test: bytecode
	@mkdir -p build/test-results
	$(PYTEST) $(NBVAL) --junitxml=build/test-results/junit.xml tests notebooks

test-py: bytecode
	$(PYTEST) tests

test-notebooks: bytecode
	$(PYTEST) $(NBVAL) notebooks

# The foreign model server of the own-model tests lives in a venv of its own, so its packages never touch .venv.
REMOTE_VENV  := .venv-remote
REMOTE_STAMP := $(REMOTE_VENV)/.installed-requirements

$(REMOTE_STAMP): tests/own_model/requirements-remote.txt $(STAMP)
	@test -x $(REMOTE_VENV)/bin/python || $(PYTHON) -m venv $(REMOTE_VENV)
	$(UV) pip install --quiet --python $(REMOTE_VENV)/bin/python $(UV_SOURCE) -r tests/own_model/requirements-remote.txt
	@touch $@

test-own-model: bytecode $(REMOTE_STAMP)
	$(PY) -m tests.own_model --foreign $(REMOTE_VENV)/bin/fakellm

# The Azure CLI (pinned, about 370 MB) lives in a test-only venv too: it checks lesson 11's az commands with its
# own parser, and never enters .venv. uv links it from its cache; the CLI's .pyc files are written on first use.
AZ_VENV  := .venv-azure-cli
AZ_STAMP := $(AZ_VENV)/.installed-requirements

$(AZ_STAMP): tests/azure_cli/requirements-azure-cli.txt $(STAMP)
	@test -x $(AZ_VENV)/bin/python || $(UV) venv --quiet --python $(PY) $(AZ_VENV)
	$(UV) pip install --quiet --python $(AZ_VENV)/bin/python $(UV_SOURCE) -r tests/azure_cli/requirements-azure-cli.txt
	@touch $@

test-azure-cli: bytecode $(AZ_STAMP)
	KIT_AZURE_CLI_PYTHON=$(AZ_VENV)/bin/python $(PY) -m pytest -p no:cacheprovider -q tests/azure_cli

# Agent Framework's own Azure Functions samples on the embedded host, each unchanged but for its chat client (the
# kit's, on the offline model), driven as its demo.http or README says (tests/upstream_samples). The samples are
# another project's code and stay out of this repository: AF_SAMPLES names a checkout's samples folder (README).
#   make test-af-samples AF_SAMPLES=~/agent-framework/python/samples/04-hosting/azure_functions
AF_SAMPLES ?=
af-samples-folder:
	@test -n "$(AF_SAMPLES)" || { echo "Set AF_SAMPLES to a checkout's python/samples/04-hosting/azure_functions (see README.md)."; exit 2; }
	@test -f "$(AF_SAMPLES)/README.md" && grep -qs AgentFunctionApp "$(AF_SAMPLES)"/*/function_app.py || { \
	  echo "AF_SAMPLES=$(AF_SAMPLES) is not the samples folder (a README.md and sample folders whose function_app.py uses AgentFunctionApp): give python/samples/04-hosting/azure_functions of an agent-framework checkout (see README.md)."; exit 2; }

test-af-samples: af-samples-folder bytecode
	KIT_AF_SAMPLES="$(AF_SAMPLES)" $(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) -v -rA tests/upstream_samples

# The deployment rehearsal of lesson 11: package, clean venv with only requirements.txt, both orchestrations.
rehearse: bytecode
	$(PY) -m helpers.rehearsal functions_app --work-dir build/azure

# Re-execute every notebook in place and save its outputs (what nbval then compares against).
notebooks: bytecode
	$(PY) -m helpers.execute_notebooks notebooks
	$(PY) -m helpers.execute_notebooks notebooks/solutions

# For CI after a failure: every notebook executed into build/executed-notebooks/, errors kept in the cells.
executed-notebooks: bytecode
	$(PY) -m helpers.execute_notebooks notebooks --out build/executed-notebooks --allow-errors
	$(PY) -m helpers.execute_notebooks notebooks/solutions --out build/executed-notebooks --allow-errors

bench: bytecode
	$(PY) -m bench.run_all

# Generated requests (tests/fuzz): the Durable HTTP API, entity, admin and app routes from the host's OpenAPI
# description, raw requests of any method, path and body, and the model gateway. A new seed every run (printed);
# FUZZ_SEED=<seed> repeats one. `make test` runs a small fixed run of the same harness.
FUZZ_REQUESTS ?= 10000
fuzz: bytecode
	$(PY) -m tests.fuzz --requests $(FUZZ_REQUESTS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED),)

# Lint, format and type gates. The tools are pinned in requirements-dev.txt and live in .venv too.
DEV_STAMP := $(VENV)/.installed-dev-requirements

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(UV) pip install --quiet --python $(PY) $(UV_SOURCE) -r requirements-dev.txt
	@touch $@

# zizmor audits the CI workflow and the Dependabot settings offline (no GitHub API calls), in well under a second.
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/zizmor --offline --quiet .
	$(VENV)/bin/mypy
	$(VENV)/bin/vulture helpers functions_app --min-confidence 80

# Lessons run in JupyterLab in a real browser (Debian's chromium: apt-get install -y chromium), checked and
# photographed into build/browser-check/. Not part of `make test`: about a minute per lesson.
#   make browser-check LESSONS="06 08"
LESSONS ?=
browser-check: bytecode $(DEV_STAMP)
	$(PY) -m tests.browser $(LESSONS)

# Rewrites files: import order and other safe fixes, then the formatter.
format: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) $(REMOTE_VENV) $(AZ_VENV) .pytest_cache .state build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
