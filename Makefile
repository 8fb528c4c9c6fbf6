# Two commands matter: `make demo` and `make test`. Everything else is a step they take.
PY ?= python3
UV := $(PY) -m uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= .oratio

.PHONY: demo test lint typecheck pytest bench env system-deps clean

$(BIN)/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(UV) sync --frozen --all-extras
	@touch $@

env: $(BIN)/.synced

# Debian packages the browser and SIP tests drive (root on a fresh machine; skipped when present).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

demo: env
	$(BIN)/oratio demo --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: env
	$(BIN)/mypy

pytest: env system-deps
	$(BIN)/pytest -q tests/unit tests/integration tests/e2e

test: lint typecheck pytest

bench: env
	$(BIN)/python -m tests.bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
