# The two commands the README promises: `make synth` and `make test`.
# Both set up everything they need on a machine with python3 (3.11+), node (20+) and npm.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
# Node 20 makes jsii print an end-of-life banner on every run; this silences it.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup synth cost diagrams test lint typecheck unit bench snapshot-update clean

$(VENV)/.runtime-deps: requirements.txt constructs/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.runtime-deps requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.dev-deps node_modules/.installed

## Synthesize every stack into cdk.out/ with the pinned CDK CLI (cdk-nag runs as part of synth).
synth: $(VENV)/.runtime-deps node_modules/.installed
	rm -rf cdk.out
	$(CDK) synth --quiet -c showcases=all
	@$(PY) tools/list_stacks.py cdk.out

## Idle $/hour and $/month of every stack in both profiles: synthesized templates x tools/prices.json.
cost: $(VENV)/.runtime-deps
	$(PY) -m tools.cost

## Lint, type-check and run the whole suite.
test: setup lint typecheck unit

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck:
	$(PY) -m mypy app.py stacks constructs/dbpatterns tests tools

## Both cores: each worker synthesizes the app once; loadgroup keeps the packaging venv on one worker.
unit:
	$(PY) -m pytest -n 2 --dist loadgroup

## Measured figures: synth cost per resource above an empty app's floor (default sandbox, then every
## showcase), the suite against that floor,
## and use case 3's fleet (per-stack resources and sizes, synth time for 100 vs 1,000 tenants).
bench: setup
	$(PY) benchmarks/synth.py --pytest-args "$(or $(PYTEST_ARGS),-n 2 --dist loadgroup)"
	$(PY) benchmarks/synth.py --skip-tests -c showcases=all
	$(PY) benchmarks/tenancy_synth.py

## Refresh the stack snapshots after an intended template change (review the diff!).
snapshot-update: setup
	$(PY) -m pytest -n 2 --snapshot-update -k snapshot

## Regenerate docs/diagrams/ (a DOT file and an SVG per stack) from the production synth.
## Rendering needs Graphviz's `dot` (Debian: apt-get install graphviz); `make test` does not.
diagrams: $(VENV)/.runtime-deps
	$(PY) -m tools.diagrams docs/diagrams

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
