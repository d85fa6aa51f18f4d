# ndaa-scan: `make demo` and `make test` install everything they need on a fresh Debian
# machine (as root): apt packages, a virtual environment, the package and its dev tools.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
NDAA := $(BIN)/ndaa-scan
STAMP := $(VENV)/.installed
DEMO_LAB ?= demo
DEMO_PROFILE ?= examples/lab/skeleton.toml
DEMO_CHANGED_PROFILE ?= examples/lab/skeleton-changed.toml
OUT ?= out

.PHONY: setup demo screenshot test lint unit lab-down clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap.sh
	VENV=$(VENV) scripts/bootstrap.sh
	touch $(STAMP)

## demo: build the simulated lab, sweep it from inside the lab, write the inventory (JSON, CSV,
## HTML, PDF, JUnit) and record it in a demo history database; record a disposition; then change
## the lab (examples/lab/skeleton-changed.toml), sweep again into $(OUT)/second and show the diff.
demo: setup
	@set -euo pipefail; \
	trap '$(NDAA) lab down $(DEMO_LAB) >/dev/null 2>&1 || true' EXIT; \
	export NDAA_SCAN_DB=$(abspath $(OUT))/history.sqlite3; \
	rm -f "$$NDAA_SCAN_DB"; \
	network() { python3 -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["network"])' "$$1"; }; \
	$(NDAA) lab down $(DEMO_LAB) >/dev/null; \
	$(NDAA) lab up --profile $(DEMO_PROFILE) --name $(DEMO_LAB); \
	$(NDAA) sweep --netns ndl-$(DEMO_LAB)-scan --out $(OUT) --fail-on never \
		--operator "make demo" $$(network $(DEMO_PROFILE)); \
	$(NDAA) report $(OUT)/inventory.json --verify; \
	$(NDAA) remediation set 198.18.0.10 --disposition replace --status done \
		--place "City Hall lobby" --switch-port sw1/Gi1/0/10 --by "make demo" \
		--note "replaced by an NDAA-compliant camera (demo)"; \
	$(NDAA) lab down $(DEMO_LAB) >/dev/null; \
	$(NDAA) lab up --profile $(DEMO_CHANGED_PROFILE) --name $(DEMO_LAB); \
	$(NDAA) sweep --netns ndl-$(DEMO_LAB)-scan --out $(OUT)/second --fail-on never --quiet \
		--operator "make demo" $$(network $(DEMO_CHANGED_PROFILE)); \
	echo "--- ndaa-scan diff $(OUT)/inventory.json $(OUT)/second/inventory.json"; \
	: "diff exits 1 when something changed, which is the point here; 2 would be an error"; \
	rc=0; $(NDAA) diff $(OUT)/inventory.json $(OUT)/second/inventory.json || rc=$$?; \
	[ "$$rc" -le 1 ]; \
	$(NDAA) history; \
	echo "inventory: $(OUT)/inventory.{json,csv,html,pdf,junit.xml}; after the change: $(OUT)/second/"

## screenshot: the README's picture of the HTML report: sweep the city-hall lab into
## $(OUT)/city-hall and photograph its report. Chromium runs headless in an empty network
## namespace with background networking off, and loads only the file:// page.
screenshot: setup
	@set -euo pipefail; \
	profile=$$(mktemp -d); trap 'rm -rf "$$profile"; $(NDAA) lab down shot >/dev/null 2>&1 || true' EXIT; \
	$(NDAA) lab down shot >/dev/null; \
	$(NDAA) lab up --profile examples/lab/city-hall.toml --name shot; \
	NDAA_SCAN_DB=off $(NDAA) sweep --netns ndl-shot-scan --out $(OUT)/city-hall --fail-on never \
		--quiet --operator "make screenshot" 198.18.0.0/24; \
	unshare --net chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$$profile" \
		--hide-scrollbars --window-size=1280,1500 --screenshot=$(abspath examples/report-screenshot.png) \
		file://$(abspath $(OUT)/city-hall/inventory.html) 2>/dev/null; \
	echo "wrote examples/report-screenshot.png"

## test: the whole suite, lab integration tests included (needs root for the lab tests), with
## branch coverage and its floor (pyproject [tool.coverage]). CI=true: a skip fails the run.
test: setup
	$(BIN)/python -m fingerprints.verify
	CI=true $(BIN)/python -m pytest --cov --cov-branch --cov-report=term:skip-covered

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
