# Pulse — entry points. Every target installs what it needs first; a fresh machine needs
# only Python 3.11+, pip and git.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

PACKAGES := contracts libs/settings libs/telemetry libs/broker libs/client libs/resilience \
            services/gateway services/planner services/executor services/agent-adapter \
            services/archiver infra/stack
PYPROJECTS := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: help setup demo up down test test-fast lint format schemas bench clean

help:
	@echo "make demo    set up, start the embedded stack, run sample goals, shut down"
	@echo "make up      start the embedded stack and keep it running (Ctrl-C stops it)"
	@echo "make down    stop a stack started with 'make up' in another terminal"
	@echo "make test    set up and run the whole test suite"
	@echo "make lint    ruff and mypy"
	@echo "make schemas regenerate contracts/schemas (JSON Schema + AsyncAPI)"
	@echo "make bench   benchmarks (ratios against a baseline measured in the same run)"

$(STAMP): $(PYPROJECTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(foreach p,$(filter-out infra/stack,$(PACKAGES)),-e ./$(p)) -e './infra/stack[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/pulse-stack demo

up: setup
	$(BIN)/pulse-stack up

down: setup
	$(BIN)/pulse-stack down

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not e2e and not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts/src libs/settings/src libs/telemetry/src libs/broker/src libs/client/src \
	    libs/resilience/src
	$(BIN)/mypy services/gateway/src services/planner/src services/executor/src \
	    services/agent-adapter/src services/archiver/src infra/stack/src

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schemas: setup
	$(BIN)/pulse-stack schemas

bench: setup
	$(BIN)/python -m pip install --quiet -e './infra/stack[dev,bench]'
	$(BIN)/pulse-stack bench
	$(BIN)/pulse-stack bench --intake

clean:
	rm -rf $(VENV) .pulse .pytest_cache .mypy_cache .ruff_cache
