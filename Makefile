# Two commands a newcomer needs: `make run` (set up, then build the warehouse from data/raw)
# and `make test` (set up, then run the tests). Everything installs into .venv from the package registries.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: setup run test eval dev lint format clean browser query docs erase bench java

setup: $(STAMP) $(MANIFEST)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/pip install --quiet --constraint requirements.lock --editable '.[dev]'
	touch $@

$(MANIFEST): $(STAMP) $(shell find dbt_project/models dbt_project/macros dbt_project/tests dbt_project/seeds -type f 2>/dev/null) dbt_project/dbt_project.yml
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .

## Build data/warehouse.duckdb (or $$CRM_WAREHOUSE_PATH) from data/raw (or $$CRM_RAW_DIR).
run: setup $(if $(filter spark,$(CRM_ENGINE)),java)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m pipelines.run

## Run the test suite.
test: setup browser java
	$(BIN)/python -m pytest

## Debian's chromium and chromium-driver for tests/test_browser.py, installed (as root) when missing.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "chromium is missing: run 'sudo make browser' (the browser test is skipped until then)"; fi; \
	fi

## Java 17 for pyspark (CRM_ENGINE=spark and tests/test_spark.py): Debian's openjdk-17-jre-headless, installed
## (as root) when no java is on the PATH.
java:
	@if ! command -v java >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
		else echo "java is missing: run 'sudo make java' (the Spark test is skipped until then)"; fi; \
	fi

## A read-only SQL shell on the analysts' published copy; SQL="select ..." runs one statement and exits.
query: setup
	$(BIN)/python -m pipelines.query $(if $(SQL),-c "$(SQL)")

## dbt docs of the warehouse on http://127.0.0.1:8580 (each dbt asset in the UI links its page here).
## Generate while no run is writing the warehouse: dbt reads its catalog.
docs: setup
	cd dbt_project && ../$(BIN)/dbt docs generate --quiet --profiles-dir . \
		&& ../$(BIN)/dbt docs serve --profiles-dir . --host 127.0.0.1 --port 8580 --no-browser

## Erase one person on request from every table: CUSTOMER_ID=..., MOBILE=... or ID_NUMBER=... (DRY_RUN=1 to look first).
erase: setup
	$(BIN)/python -m pipelines.privacy erase $(if $(CUSTOMER_ID),--customer-id "$(CUSTOMER_ID)")$(if $(MOBILE),--mobile "$(MOBILE)")$(if $(ID_NUMBER),--id-number "$(ID_NUMBER)")$(if $(DRY_RUN), --dry-run)

## The platform benchmark at each of SIZES customers (data cached in benchmarks/.cache, results in
## benchmarks/results): every stage beside the floor and the matching peers; INCREMENTAL=1 adds a day's run.
SIZES ?= 10000,100000
bench: setup
	$(BIN)/python benchmarks/bench.py --sizes $(SIZES)$(if $(INCREMENTAL), --incremental)$(if $(PEERS), --peers $(PEERS))

## Score customer_xref against the generated ground truth.
eval: setup
	$(BIN)/python -m pipelines.evaluate

## The Dagster UI on http://127.0.0.1:3000 with the whole asset graph.
dev: setup
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || printf 'concurrency:\n  runs:\n    max_concurrent_runs: 1\n' > $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: setup
	$(BIN)/ruff check pipelines tests
	$(BIN)/ruff format --check pipelines tests

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs .dagster_home data/warehouse.duckdb* data/exports
