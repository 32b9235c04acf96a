# Every target builds .venv from the project's own files: a fresh clone needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The console tests drive Debian's chromium (Playwright never downloads a browser here);
# Noto CJK lets it draw the Chinese console in screenshots; WenQuanYi Micro Hei (TrueType,
# which reportlab can embed, unlike Noto's CFF outlines) draws the monthly KPI report's PDF.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run demo cluster bench-cluster test test-sqlite test-postgresql lint bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk fonts-wqy-microhei

# serve refuses a database whose schema is behind: migrate first (a no-op when current).
run: $(STAMP)
	$(BIN)/dispatch-server migrate
	$(BIN)/dispatch-server serve --host $(HOST) --port $(PORT)

# The server with 30 simulated patrols on a throwaway database: a living console at once.
DEMO_DB := sqlite:///data/demo.sqlite3
DEMO_ALARMS_PER_HOUR ?= 4
demo: $(STAMP)
	rm -f data/demo.sqlite3 data/demo.sqlite3-wal data/demo.sqlite3-shm
	DISPATCH_DATABASE_URL=$(DEMO_DB) $(BIN)/dispatch-server migrate
	DISPATCH_DATABASE_URL=$(DEMO_DB) $(BIN)/dispatch-server serve --host $(HOST) --port $(PORT) --demo 30 \
		--demo-alarms-per-hour $(DEMO_ALARMS_PER_HOUR)

# Two instances on this machine's PostgreSQL and Redis, to try a cluster (docs/deploy.md).
# Both take the same admin token; sign in to either console; Ctrl-C stops both.
CLUSTER_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/dispatch_cluster
CLUSTER_BUS ?= redis://127.0.0.1:6379/0
CLUSTER_ADMIN ?= cluster-admin-token
cluster: $(STAMP)
	DISPATCH_DATABASE_URL=$(CLUSTER_DB) $(BIN)/dispatch-server migrate --create
	@echo "Instance A: http://$(HOST):8001/  Instance B: http://$(HOST):8002/  admin token: $(CLUSTER_ADMIN)"
	export DISPATCH_DATABASE_URL=$(CLUSTER_DB) DISPATCH_BUS_URL=$(CLUSTER_BUS) \
	       DISPATCH_ADMIN_TOKEN=$(CLUSTER_ADMIN); \
	$(BIN)/dispatch-server serve --host $(HOST) --port 8001 & \
	$(BIN)/dispatch-server serve --host $(HOST) --port 8002 & \
	wait

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The whole suite on SQLite, then what touches the database again on PostgreSQL
# (DISPATCH_TEST_PG_URL, default: the machine's own as user postgres; tests create and
# drop their own databases). test-sqlite needs no PostgreSQL.
test: lint $(CHROMIUM)
	$(BIN)/pytest -q --backend sqlite
	$(BIN)/pytest -q --backend postgresql

test-sqlite: lint $(CHROMIUM)
	$(BIN)/pytest -q --backend sqlite

test-postgresql: lint $(CHROMIUM)
	$(BIN)/pytest -q --backend postgresql

# A simulated duty day against the real server (tests/simulation/dutyday.py): 24 simulated
# hours in about 12 minutes, 10 grids with 3 patrols a shift; prints its figures. A failure
# prints the seed and the command that replays it. SOAK_ARGS=--backend postgresql, etc.
SOAK_SEED ?= $(shell date +%s)
SOAK_HOURS ?= 24
SOAK_ARGS ?=
soak: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python -m tests.simulation.dutyday --seed $(SOAK_SEED) \
		--hours $(SOAK_HOURS) --grids 10 --per-shift 3 $(SOAK_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/alarm_latency.py

# Two instances on the local PostgreSQL and Redis against one on SQLite (docs/performance.md).
bench-cluster: $(STAMP)
	$(BIN)/python bench/cluster_latency.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
