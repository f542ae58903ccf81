# Two commands on a fresh machine: `make up` (stack + its main job) and `make test` (all tests).
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= local
PYTHON ?= python3

.PHONY: up down test unit setup clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

setup: $(BIN)/.installed
	scripts/install-system-deps

# Build the images (cached by input hash), bring the stack up healthy, run the health sweep.
up: setup
	$(BIN)/invoke images.build
	$(BIN)/invoke stack.up --stack $(STACK)
	$(BIN)/invoke runbook.health --stack $(STACK)

down: setup
	$(BIN)/invoke stack.down --stack $(STACK)

# Lint, unit tier, live tier on the local stack, Pulumi engine lifecycle; always tears down.
test: setup
	scripts/test

# The fast tier only (lint + unit, about a minute).
unit: setup
	TIERS="lint unit" scripts/test

clean:
	rm -rf build runs
