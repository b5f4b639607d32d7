# make run: set up and serve the dashboard on 127.0.0.1:$(PORT)
# make test: set up and run the whole suite (storage, dashboard, commands, real HTTP DynamoDB, browser)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-dashboard bench-migrate bench-dynamodb chromium node clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

# The JavaScript producer's tests (tests/producer) run node; they npm ci its pinned packages themselves.
node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
		echo "Installing Debian's nodejs and npm for the JavaScript producer tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_demo_user
	$(PY) manage.py seed_demo --count 500 --if-empty
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP) chromium node
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	$(PY) bench/storage_bench.py --backend sqlite
	$(PY) bench/storage_bench.py --backend file
	$(PY) bench/storage_bench.py --backend dynamodb

bench-dashboard: $(STAMP)
	$(PY) bench/dashboard_bench.py

bench-migrate: $(STAMP)
	$(PY) bench/migrate_bench.py

# Needs node and npm: dynalite is installed into bench/.dynalite on first use.
bench-dynamodb: $(STAMP)
	$(PY) bench/dynamodb_scale.py

clean:
	rm -rf $(VENV) var/*.sqlite3* artifacts .pytest_cache
