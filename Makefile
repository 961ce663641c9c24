# stocktrace — `make demo` runs the demo on SQLite; `make test` runs every test on SQLite and PostgreSQL.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-sqlite test-postgres lint lock browser

$(BIN)/stocktrace: pyproject.toml requirements.lock
	python3 -m pip install --quiet --disable-pip-version-check uv 2>/dev/null || python3 -m pip install --quiet --break-system-packages uv
	python3 -m uv venv --quiet --allow-existing --python python3.11 $(VENV)
	python3 -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	python3 -m uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

setup: $(BIN)/stocktrace

PORT ?= 8000

demo: setup
	$(BIN)/stocktrace demo --port $(PORT)

browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	scripts/test

lint: setup
	$(BIN)/ruff check .

lock:
	python3 -m uv pip compile --quiet pyproject.toml --extra dev -o requirements.lock
