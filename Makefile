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

# Set-up: the virtualenv and the Debian packages. The Pulumi engine tools (CLI, Python language
# host, Kubernetes provider) are built from Go modules by the first command that needs them
# (`invoke engine.*`, `stack.preview/up/down` of an EKS stack, the engine tier): docs/engine.md.
setup: $(BIN)/.installed
	scripts/install-system-deps

# Build the images (cached by input hash), bring the stack up healthy, run the health sweep.
# A Docker engine is started in the background when none answers (`make down` stops it).
up: setup
	$(BIN)/invoke images.build
	$(BIN)/invoke stack.up --stack $(STACK)
	$(BIN)/invoke runbook.health --stack $(STACK)

down: setup
	$(BIN)/invoke stack.down --stack $(STACK)

# Lint, unit tier, live tier on the local stack, Pulumi engine lifecycle; always tears down.
test: setup
	scripts/test

# The fast tier only (lint + unit, about two minutes); leaves a stack that `make up` started alone.
unit: setup
	TIERS="lint unit" scripts/test

clean:
	rm -rf build runs
