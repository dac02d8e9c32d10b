# Durable Agents notebook kit — every command a learner, host or CI needs.
#   make lab    set up if needed, then open JupyterLab on notebooks/
#   make demo   headless: run both orchestrations against the embedded host + offline model
#   make test   set up if needed, then pytest (tests/) and nbval (notebooks/)
#   make test-own-model  every lesson with LAB_MODEL=env against model servers posing as your own
#   make setup  create .venv at the repo root, install requirements.txt and the kit (editable), register a kernel
#   make notebooks  re-execute every notebook and save its outputs (what nbval compares)
#   make bench  benchmarks of the embedded host
#   make clean  remove .venv, caches and local state

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements

.PHONY: setup lab demo test test-py test-notebooks test-own-model bench notebooks clean

setup: $(STAMP)

# The Jupyter kernel `make setup` registers for this .venv, so VS Code or a JupyterLab of your own finds it.
KERNEL_NAME ?= durable-agents-kit

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; ok = (3, 11) <= v < (3, 14); \
	  sys.exit(0 if ok else f"Python {v[0]}.{v[1]} found; the kit needs Python 3.11-3.13 (set PYTHON=python3.11 for example).")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	$(PY) -m ipykernel install --user --name $(KERNEL_NAME) --display-name "Python (durable agents kit)" >/dev/null
	@touch $(STAMP)

# Jupyter refuses to run as root unless told; workshop containers and CI images often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: setup
	$(PY) -m jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT)

demo: setup
	$(PY) -m helpers.demo

test: setup
	$(PY) -m pytest tests
	$(MAKE) --no-print-directory test-notebooks

test-py: setup
	$(PY) -m pytest tests

test-notebooks: setup
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks

# The foreign model server of the own-model tests lives in a venv of its own, so its packages never touch .venv.
REMOTE_VENV  := .venv-remote
REMOTE_STAMP := $(REMOTE_VENV)/.installed-requirements

$(REMOTE_STAMP): tests/own_model/requirements-remote.txt
	@test -x $(REMOTE_VENV)/bin/python || $(PYTHON) -m venv $(REMOTE_VENV)
	$(REMOTE_VENV)/bin/python -m pip install --quiet -r tests/own_model/requirements-remote.txt
	@touch $@

test-own-model: setup $(REMOTE_STAMP)
	$(PY) -m tests.own_model --foreign $(REMOTE_VENV)/bin/fakellm

# Re-execute every notebook in place and save its outputs (what nbval then compares against).
notebooks: setup
	$(PY) -m helpers.execute_notebooks notebooks

bench: setup
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) $(REMOTE_VENV) .pytest_cache .state build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
