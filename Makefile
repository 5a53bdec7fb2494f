# Two commands for a newcomer: `make demo` and `make test`. Both set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13: use it when this machine has one that works (pyenv shims of an inactive
# version do not), else python3.
PYTHON ?= $(shell for p in python3.13 $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null) python3; do \
	"$$p" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
export SAM_CLI_TELEMETRY := 0

.PHONY: help setup demo test lint typecheck bench clean

help:
	@echo "make demo   run the real handler end to end against local API simulators and moto"
	@echo "make test   ruff, mypy, sam validate/lint, cfn-lint, checkov, sam build, contract tests, pytest (= CI)"

$(BIN)/.installed: pyproject.toml requirements-dev.txt src/requirements.txt
	@test -n "$(PYTHON)" || { echo "need Python >= 3.11 (python3.13 preferred)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt -e .
	touch $@

# Tools whose pins clash with moto's and with each other's get a virtualenv each:
# .venv-sam from requirements-sam.txt, .venv-checkov from requirements-checkov.txt.
.venv-%/.installed: requirements-%.txt
	@test -n "$(PYTHON)" || { echo "need Python >= 3.11 (python3.13 preferred)"; exit 1; }
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q -r $<
	touch $@

setup: $(BIN)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

demo: $(BIN)/.installed
	$(BIN)/python -m tests.support.demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

test: setup lint typecheck
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/$(SAM_VENV)/bin:$(CURDIR)/$(CHECKOV_VENV)/bin:$$PATH" $(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
