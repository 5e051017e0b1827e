# Two entry points for a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: setup run test tools lint typecheck unit integration bench dedup-eval entities-eval events-eval clean

setup: $(STAMP)

# torch first, from the CPU wheel: camel-tools needs torch, and left to itself pip
# would fetch the CUDA build (gigabytes). constraints.txt pins the whole tree.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsmon run seeds/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

# Debian's docker-compose parses deploy/docker-compose.yml in the suite (no Docker daemon is
# needed for that); installed when missing and run as root, else its one test is skipped.
tools:
	@command -v docker-compose >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; } \
	  || echo "docker-compose not installed: its test will be skipped"

test: lint typecheck tools
	$(BIN)/pytest -q tests

bench: $(STAMP)
	$(BIN)/python bench/throughput_bench.py
	$(BIN)/python bench/memory_bench.py
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/dedup_bench.py
	$(BIN)/python bench/entities_bench.py
	$(BIN)/python bench/es_bench.py
	$(BIN)/python bench/alerts_bench.py
	$(BIN)/python bench/feeds_bench.py
	$(BIN)/python bench/postgres_bench.py
	$(BIN)/python bench/inbox_bench.py

dedup-eval: $(STAMP)
	$(BIN)/python bench/dedup_eval.py --sweep

entities-eval: $(STAMP)
	$(BIN)/python bench/entities_eval.py -v

events-eval: $(STAMP)
	$(BIN)/python bench/events_eval.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
