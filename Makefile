# Two commands on a fresh machine: `make up` (stack + its main job) and `make test` (all tests).
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= local
PYTHON ?= python3

.PHONY: up test setup lint unit clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

setup: $(BIN)/.installed
	scripts/install-system-deps

up: setup
	$(BIN)/invoke stack.validate --stack $(STACK)
	$(BIN)/invoke stack.export-compose --stack $(STACK) --out build/$(STACK)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: setup
	$(BIN)/pytest

test: lint unit

clean:
	rm -rf build runs
