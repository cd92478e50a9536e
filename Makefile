# Two entry points, each installing what it needs on a fresh machine:
#   make serve   start the server on the embedded SQLite database
#   make test    lint, type-check and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/maestro serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	scripts/ensure-chromium
	scripts/ensure-axe
	scripts/ensure-postgres
	scripts/ensure-nginx
	scripts/ensure-git
	$(BIN)/pytest $(PYTEST_ARGS)

# The benchmark suite (under a minute); rewrites the table in docs/performance.md.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
