# make demo: the sample estate going from non-compliant to compliant (armsim, no Azure needed)
# make test: every quality gate, from a fresh clone
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: bench demo test lint typecheck unit-test lint-infra deps deps-node deps-browser clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

deps: $(STAMP)

# Azurite (Azure Storage emulator) for the change-ledger tests, pinned in package.json.
deps-node: package.json
	@if [ ! -x node_modules/.bin/azurite ]; then npm ci --no-audit --no-fund --loglevel=error; fi

# Debian's headless Chromium, to check that the HTML report renders.
deps-browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

demo: $(STAMP)
	$(PY) -m remediation demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict remediation

lint-infra: $(STAMP) requirements-infra.txt
	$(PY) -m tests.infra.checkov_gate

unit-test: $(STAMP) deps-node deps-browser
	$(PY) -m pytest -n 4 --cov=remediation --cov-branch --cov-report=term --cov-report=xml:coverage.xml

test: lint typecheck lint-infra unit-test

clean:
	rm -rf $(VENV) .venv-infra node_modules .pytest_cache .mypy_cache .ruff_cache coverage.xml .coverage

# Estate scale under ARM's limits (armsim throttle model, 30 ms per request): scenarios A-F, table and benchmarks/results.json.
bench: $(STAMP)
	$(PY) -m benchmarks.bench_scale
