# Durable Agents notebook kit — every command a learner, host or CI needs.
#   make lab    set up if needed, then open JupyterLab on notebooks/
#   make demo   headless: run both orchestrations against the embedded host + offline model
#   make test   set up if needed, then pytest (tests/) and nbval (notebooks/)
#   make setup  create .venv at the repo root, install requirements.txt and the kit (editable), register a kernel
#   make notebooks  re-execute every notebook and save its outputs (what nbval compares)
#   make bench  benchmarks of the embedded host
#   make clean  remove .venv, caches and local state

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements

.PHONY: setup lab demo test test-py test-notebooks bench notebooks clean

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

# Re-execute every notebook in place and save its outputs (what nbval then compares against).
notebooks: setup
	$(PY) -m helpers.execute_notebooks notebooks

bench: setup
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .state *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
