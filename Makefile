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

# Set-up: the virtualenv, the Debian packages, and the Pulumi engine tools (CLI, Python language
# host, Kubernetes provider) built from Go modules when Go is present: cached by version, ~1 s once
# built (docs/engine.md). Without Go it says what is missing; only the engine needs them.
setup: $(BIN)/.installed
	scripts/install-system-deps
	@if command -v go >/dev/null; then $(BIN)/invoke engine.build; else \
	  echo "engine tools not built: Go is not installed (needs Go >= 1.26 and the Go module proxy; docs/engine.md)"; fi

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
