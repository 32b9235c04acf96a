# Every target builds .venv from the project's own files: a fresh clone needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The console tests drive Debian's chromium (Playwright never downloads a browser here);
# Noto CJK lets it draw the Chinese console in screenshots.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk

run: $(STAMP)
	$(BIN)/dispatch-server serve --host $(HOST) --port $(PORT)

# The server with 30 simulated patrols on a throwaway database: a living console at once.
demo: $(STAMP)
	rm -f data/demo.sqlite3 data/demo.sqlite3-wal data/demo.sqlite3-shm
	DISPATCH_DATABASE_URL=sqlite:///data/demo.sqlite3 $(BIN)/dispatch-server serve --host $(HOST) --port $(PORT) --demo 30

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint $(CHROMIUM)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/alarm_latency.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
