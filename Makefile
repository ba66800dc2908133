# wsoa-tracker: `make serve` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
PORT ?= 8000
WSOA_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export WSOA_TEST_POSTGRES_URL

.PHONY: install browser serve test test-sqlite test-postgres check lint test-wheel format openapi migration bench soak screenshot clean

## What the service needs to run (`make serve`), then the development tools on top (everything else). No bytecode is
## compiled at install: Python compiles each module when it is first imported, which spares a first start ~10 s.
$(RUNTIME): pyproject.toml setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Debian's Chromium and axe-core for the accessibility test of the HTML export (installed when missing).
browser:
	tests/browser/setup.sh

## Serve the API on the embedded SQLite database with demo data; prints one demo key per role.
serve: $(RUNTIME)
	$(BIN)/wsoa serve --demo --port $(PORT)

## The whole suite: lint, types and the wheel beside every test on SQLite and on PostgreSQL (the SQLite suite and
## `check` share a core while the longer PostgreSQL suite runs; each job's output is printed whole when it ends; any
## failure fails it).
test: install browser
	$(MAKE) --no-print-directory -j3 --output-sync=target check test-sqlite test-postgres

test-sqlite: install browser
	$(BIN)/pytest --db sqlite --durations=12

test-postgres: install browser
	$(BIN)/pytest --db postgres --durations=12

## The lint lane of `make test`: the linters, then what ships.
check: install
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-wheel

lint: install
	$(BIN)/ruff check app tests migrations bench setup.py
	$(BIN)/ruff format --check app tests migrations bench setup.py
	$(BIN)/mypy
	$(BIN)/hadolint --no-color Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml

## What ships: the wheel, built from what the image builds it from and installed into a new venv outside the checkout,
## migrates a new SQLite database, serves the demo and renders an HTML and a PDF pack (a minute or two).
test-wheel: install
	$(BIN)/pytest --wheel --durations=3 tests/test_wheel.py

format: install
	$(BIN)/ruff check --fix app tests migrations bench setup.py
	$(BIN)/ruff format app tests migrations bench setup.py

## Rewrite the committed OpenAPI document from the app.
openapi: install
	$(BIN)/wsoa openapi --output openapi/openapi.json

## New migration from the models, compared with a scratch database at head: make migration m="add evidence"
migration: install
	@test -n "$(m)" || (echo 'usage: make migration m="what changed"' && exit 2)
	@scratch=$$(mktemp -d) && \
	  WSOA_DATABASE_URL=sqlite:///$$scratch/head.db $(BIN)/wsoa migrate && \
	  WSOA_DATABASE_URL=sqlite:///$$scratch/head.db $(BIN)/alembic -c alembic.ini revision --autogenerate -m "$(m)"; \
	  status=$$?; rm -rf $$scratch; exit $$status

## Benchmarks (need PostgreSQL; wrk is installed from Debian when missing): every scenario beside a raw
## Starlette + asyncpg baseline at 1 and 2 worker processes (reads, progress updates, a 10,000-person sync,
## 10,000 case events, the timeliness report, an XLSX export), then the scale curves (lists up to 100,000
## actions in 200 partnerships, timeliness up to 2,000,000 events, export time against plan size).
bench: install
	command -v wrk >/dev/null || apt-get install -y --no-install-recommends wrk || (apt-get update && apt-get install -y --no-install-recommends wrk)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.scale

## Ten minutes of mixed traffic against a served process on PostgreSQL: no errors, memory settles (CI runs 20 s).
soak: install
	WSOA_SOAK_SECONDS=600 $(BIN)/pytest --db postgres --slow -s tests/test_soak.py

## The README's pictures of the demo plan's HTML progress pack (inspectors' audience), its next Delivery Group meeting's
## pack and its public page (at a phone's width), taken in Chromium.
screenshot: install browser
	WSOA_REPORT_SCREENSHOT=$(CURDIR)/docs/report-first-page.png WSOA_MEETING_SCREENSHOT=$(CURDIR)/docs/meeting-pack.png \
	WSOA_PUBLIC_SCREENSHOT=$(CURDIR)/docs/public-page.png $(BIN)/pytest --db sqlite -q tests/test_export_accessibility.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis wsoa.db wsoa.db-wal wsoa.db-shm
