# A user's two commands: `make deploy` and `make destroy`. A contributor's: `make demo` and `make test`.
# Each sets up what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13: use it when this machine has one that works (pyenv shims of an inactive
# version do not), else python3.
PYTHON ?= $(shell for p in python3.13 $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null) python3; do \
	"$$p" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
PYTHON_VERSION := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'))

# Python 3.11 is the floor (pyproject's requires-python), so `make test` runs pytest under it too:
# a 3.12+ call slips through unnoticed when every test runs on 3.13.
PYTHON311 ?= $(shell for p in python3.11 /usr/bin/python3.11; do \
	"$$p" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
ifeq ($(PYTHON311),)
PY311_SKIP := no working python3.11 (with venv) on PATH or at /usr/bin/python3.11
else ifeq ($(PYTHON_VERSION),3.11)
PY311_SKIP := the main suite above already ran under Python 3.11 ($(PYTHON))
endif

VENV := .venv
PY311_VENV := .venv-py311
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
DOCS_VENV := .venv-docs
BIN := $(VENV)/bin
TOOLS_PATH := $(CURDIR)/$(SAM_VENV)/bin:$(CURDIR)/$(CHECKOV_VENV)/bin
export SAM_CLI_TELEMETRY := 0
export NO_MKDOCS_2_WARNING := 1

.PHONY: help setup deploy destroy docs docs-build demo test test-py311 lint typecheck bench forecast-bench mutate lock clean

help:
	@echo "make deploy   check, build and deploy the stack: asks the first time for the alert e-mail (ALERT_EMAIL=..."
	@echo "              or NO_EMAIL=1; REGION=...); packages src/accounts.toml (ACCOUNTS=path, NO_ACCOUNTS=1);"
	@echo "              stops when an account has no key (FORCE=1 goes on); your settings: samconfig.local.toml"
	@echo "make destroy  delete the stack (sam delete); the keys' secret is kept"
	@echo "make docs     serve the docs site at http://127.0.0.1:8000"
	@echo "make demo   run the real handler end to end against local API simulators and moto"
	@echo "make test   ruff, mypy, sam validate/lint, cfn-lint, checkov, sam build, contract tests, mkdocs build --strict, pytest (= CI)"
	@echo "            and pytest again under Python 3.11, the floor, when the main venv is newer"
	@echo "make forecast-bench  replay realistic balance traces through the alert decisions; score the forecast"
	@echo "make mutate  mutation testing of the pure core against tests/unit, and its score (about 20 minutes)"
	@echo "make lock   regenerate the pinned versions in constraints/ from the ranges in requirements-*.txt"

# Every virtualenv installs the ranges of its requirements-<env>.txt under the exact versions pinned in
# constraints/<env>.txt, which `make lock` regenerates. A changed requirement or pin rebuilds the
# virtualenv from scratch (--clear), so it holds what a fresh clone gets and nothing left over; then
# it is checked against the pins, which fails, by name, on a requirement added without `make lock`.
define install
	$(1) -m venv --clear $(2)
	$(2)/bin/python -m pip install -q --upgrade pip -c $(3)
	$(2)/bin/python -m pip install -q -r $(4) -c $(3) $(5)
	$(1) constraints/lock.py verify $(2) $(3)
	touch $@
endef

$(BIN)/.installed: pyproject.toml requirements-dev.txt src/requirements.txt constraints/dev.txt
	@test -n "$(PYTHON)" || { echo "need Python >= 3.11 (python3.13 preferred)"; exit 1; }
	$(call install,$(PYTHON),$(VENV),constraints/dev.txt,requirements-dev.txt,-e .)

# Only for `make test-py311`: the same dependencies, the same pins, under the floor interpreter.
$(PY311_VENV)/.installed: pyproject.toml requirements-dev.txt src/requirements.txt constraints/dev.txt
	$(call install,$(PYTHON311),$(PY311_VENV),constraints/dev.txt,requirements-dev.txt,-e .)

# Tools whose pins clash with moto's and with each other's get a virtualenv each:
# .venv-sam from requirements-sam.txt, .venv-checkov from requirements-checkov.txt, .venv-docs (mkdocs)
# from requirements-docs.txt.
.venv-%/.installed: requirements-%.txt constraints/%.txt
	@test -n "$(PYTHON)" || { echo "need Python >= 3.11 (python3.13 preferred)"; exit 1; }
	$(call install,$(PYTHON),.venv-$*,constraints/$*.txt,$<)

# Regenerates every constraints/<env>.txt from the ranges in requirements-<env>.txt, in throwaway
# virtualenvs: resolved under the oldest Python 3.11 here, the floor, and installed under every other
# one and $(PYTHON) too, so the one set installs on all. Needs the package index and a Python 3.11.
# Review the diff, then commit it.
PYTHON311_ALL = $(sort $(PYTHON311) $(shell for p in python3.11 /usr/bin/python3.11 \
	$$(ls -d $$HOME/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null); do \
	"$$p" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1 && echo "$$p"; done))
lock:
	@test -n "$(PYTHON)" || { echo "need Python >= 3.11 (python3.13 preferred)"; exit 1; }
	@test -n "$(PYTHON311_ALL)" || { echo "make lock needs a Python 3.11 (python3.11 on PATH, or PYTHON311=...):" \
		"pins resolved on a newer Python may not install on 3.11, the floor"; exit 1; }
	$(PYTHON) constraints/lock.py lock --python $(PYTHON) $(addprefix --floor ,$(PYTHON311_ALL)) dev sam checkov docs

setup: $(BIN)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(DOCS_VENV)/.installed

# scripts/deploy.py: checks the accounts file, the settings and the keys, then builds with Python 3.13
# (PATH, then ~/.pyenv/versions/3.13*), else Docker, else says how to get one; the first deploy asks for
# the alert e-mail. samconfig.toml's defaults, samconfig.local.toml's settings (yours) over them.
deploy: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/python scripts/deploy.py $(if $(ALERT_EMAIL),--alert-email "$(ALERT_EMAIL)") \
		$(if $(NO_EMAIL),--no-email) $(if $(REGION),--region "$(REGION)") \
		$(if $(ACCOUNTS),--accounts "$(ACCOUNTS)") $(if $(NO_ACCOUNTS),--no-accounts) $(if $(FORCE),--force)

destroy: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/python scripts/deploy.py --destroy $(if $(REGION),--region "$(REGION)")

docs: $(DOCS_VENV)/.installed
	$(DOCS_VENV)/bin/mkdocs serve

# --strict: a broken link, a missing anchor or a page left out of the nav fails the build.
docs-build: $(DOCS_VENV)/.installed
	$(DOCS_VENV)/bin/mkdocs build --strict

demo: $(BIN)/.installed
	$(BIN)/python -m scripts.demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

test: setup lint typecheck docs-build
	PATH="$(CURDIR)/$(BIN):$(TOOLS_PATH):$$PATH" $(BIN)/python -m pytest
	@$(MAKE) --no-print-directory test-py311

# The whole suite again under 3.11, except the `template` tests: they run sam, cfn-lint and checkov
# from their own venvs, so the interpreter running pytest changes nothing there but the time taken.
ifdef PY311_SKIP
test-py311:
	@echo "test-py311: SKIPPED: $(PY311_SKIP)"
else
test-py311: $(PY311_VENV)/.installed
	@echo "test-py311: pytest under $$($(PY311_VENV)/bin/python --version) (the floor)"
	PATH="$(CURDIR)/$(PY311_VENV)/bin:$(TOOLS_PATH):$$PATH" $(PY311_VENV)/bin/python -m pytest -m "not template"
endif

# ARGS: the bench's options, e.g. make bench ARGS="--sizes 512 --fleets 2".
bench: $(BIN)/.installed
	$(BIN)/python -m scripts.bench $(ARGS)

# The forecast's quality: families of realistic balance traces replayed hour by hour through the real
# decision code; lead time, error in days left and false alerts per family (docs/development/forecast.md).
forecast-bench: $(BIN)/.installed
	$(BIN)/python -m scripts.forecast_bench $(ARGS)

# mutmut 3 on the modules in pyproject's [tool.mutmut] against tests/unit, from scratch each time (its
# cache could keep a verdict from older tests), two workers at most. Lists every mutant not killed and
# not in mutmut-equivalents.txt, then the score; below 95% the target fails.
mutate: $(BIN)/.installed
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results --all true | $(BIN)/python -m scripts.mutation_score --fail-under 95

clean:
	rm -rf $(VENV) $(PY311_VENV) $(SAM_VENV) $(CHECKOV_VENV) $(DOCS_VENV) site .aws-sam mutants .pytest_cache .mypy_cache .ruff_cache
