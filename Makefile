# Mesh Assistant: `make run` and `make test` work on a fresh machine (they create .venv and install first).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ASSISTANT := $(VENV)/bin/assistant
STAMP := $(VENV)/.installed-stamp
RUNTIME := .runtime
REPORTS ?= reports

export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY := False

.PHONY: help install index run browser services screenshots test test-fast lint format bench runtime eval lock clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml .ci/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c .ci/constraints.txt -e '.[serve,export,llm,dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install pinned dependencies (skipped when nothing changed)

index: install ## Build or update the search index (only changed chunks are embedded)
	$(ASSISTANT) index

API_PORT ?= 8000
UI_PORT ?= 8501

run: index ## Set up, index, then serve the API and the UI on 127.0.0.1 (Ctrl-C stops both)
	@set -m; \
	$(ASSISTANT) serve --port $(API_PORT) & api=$$!; \
	trap 'kill $$api $$ui 2>/dev/null; wait 2>/dev/null; echo; echo "Stopped."' INT TERM EXIT; \
	for _ in $$(seq 120); do $(PY) -c "import httpx, sys; sys.exit(not httpx.get('http://127.0.0.1:$(API_PORT)/healthz').is_success)" 2>/dev/null && break; sleep 1; done; \
	ASSISTANT_API_URL=http://127.0.0.1:$(API_PORT) $(ASSISTANT) ui --port $(UI_PORT) >/dev/null 2>&1 & ui=$$!; \
	echo ""; \
	echo "  API: http://127.0.0.1:$(API_PORT)   (OpenAPI docs: http://127.0.0.1:$(API_PORT)/docs)"; \
	echo "  UI:  http://127.0.0.1:$(UI_PORT)"; \
	echo "  Ctrl-C stops both."; \
	wait $$api

lint: install ## ruff (lint + format check) and mypy --strict
	$(VENV)/bin/ruff check assistant tests ui
	$(VENV)/bin/ruff format --check assistant tests ui
	$(VENV)/bin/mypy

format: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix assistant tests ui
	$(VENV)/bin/ruff format assistant tests ui

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

browser: ## Install Debian's Chromium for the browser test when it is missing
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

services: ## Install Debian's PostgreSQL and Redis for the tests of several replicas when they are missing
	@{ ls /usr/lib/postgresql/*/bin/pg_ctl && command -v redis-server; } >/dev/null 2>&1 \
		|| { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql redis-server >/dev/null; }

# The suite runs on every core (pytest-xdist), each test module on one worker whole, the longest first (see
# tests/conftest.py); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint browser services ## Everything CI runs: lint, the whole test suite with coverage, then the eval gate
	ASSISTANT_REQUIRE_BROWSER=1 $(PY) -m pytest $(PARALLEL) --cov --cov-report=term-missing:skip-covered
	$(VENV)/bin/coverage report --include=assistant/rules.py --fail-under=100 >/dev/null \
		|| { echo "assistant/rules.py must keep full branch coverage"; exit 1; }
	$(MAKE) --no-print-directory eval

screenshots: browser install ## Refresh the README's UI screenshots (runs the browser test)
	ASSISTANT_UPDATE_SCREENSHOTS=1 ASSISTANT_REQUIRE_BROWSER=1 $(PY) -m pytest -q tests/ui/test_browser.py

test-fast: install ## The suite without slow tests (servers, browsers, subprocess kills)
	$(PY) -m pytest $(PARALLEL) -m "not slow" -q

eval: index ## Run the eval fixtures and the regression gate (reports in reports/eval/)
	$(ASSISTANT) eval --report-dir $(REPORTS)/eval

bench: index runtime ## Print performance figures (index throughput, search and ask latency, serving RSS)
	$(ASSISTANT) bench --runtime $(RUNTIME)

runtime: index ## Build the wheel and install it without torch into .runtime/ with deploy/runtime.sh, as the image does
	rm -rf build $(RUNTIME) && mkdir -p $(RUNTIME)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir $(RUNTIME)/dist .
	$(ASSISTANT) export-model $(RUNTIME)/model
	cp -a .assistant $(RUNTIME)/data  # the same corpus and model: its index step only checks it
	ASSISTANT_EMBEDDING_MODEL=$(abspath $(RUNTIME))/model ASSISTANT_DATA_DIR=$(abspath $(RUNTIME))/data \
		sh deploy/runtime.sh $(abspath $(RUNTIME))/venv $(RUNTIME)/dist/mesh_assistant-*.whl .ci/constraints.txt

lock: install ## Re-pin .ci/constraints.txt from the current environment
	{ echo "# Pinned versions for reproducible installs (make uses: pip install -c .ci/constraints.txt)."; \
	  echo "# Regenerate: make lock"; \
	  $(PY) -m pip freeze --exclude-editable | sed 's/^torch==.*/torch==2.13.0/'; } > .ci/constraints.txt

clean: ## Remove the venv, the index and caches
	rm -rf $(VENV) .assistant $(RUNTIME) build .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage $(REPORTS)
