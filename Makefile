# ndaa-scan: `make demo` and `make test` install everything they need on a fresh Debian
# machine (as root): apt packages, a virtual environment, the package and its dev tools.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
NDAA := $(BIN)/ndaa-scan
STAMP := $(VENV)/.installed
DEMO_LAB ?= demo
DEMO_PROFILE ?= examples/lab/skeleton.toml
OUT ?= out

.PHONY: setup demo test lint unit lab-down clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap.sh
	VENV=$(VENV) scripts/bootstrap.sh
	touch $(STAMP)

## demo: build the simulated lab, sweep it from inside the lab, write the inventory, tear down.
demo: setup
	@set -euo pipefail; \
	trap '$(NDAA) lab down $(DEMO_LAB) >/dev/null 2>&1 || true' EXIT; \
	$(NDAA) lab down $(DEMO_LAB) >/dev/null; \
	$(NDAA) lab up --profile $(DEMO_PROFILE) --name $(DEMO_LAB); \
	$(NDAA) sweep --netns ndl-$(DEMO_LAB)-scan --out $(OUT) --fail-on never \
		--operator "make demo" $$(python3 -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["network"])' $(DEMO_PROFILE)); \
	echo "inventory: $(OUT)/inventory.json $(OUT)/inventory.csv"

## test: the whole suite, lab integration tests included (needs root for the lab tests).
test: setup
	$(BIN)/python -m fingerprints.verify
	$(BIN)/python -m pytest

## lint: ruff (style and bug patterns), mypy (strict types), import-linter (one-way stages).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/python -m pytest -m "not lab"

lab-down: setup
	$(NDAA) lab down

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
