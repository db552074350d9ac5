# Two commands matter: `make run` and `make test`. Both create .venv and install the project first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test lint catalogs diagram bench clean

$(BIN)/ptibot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/ptibot

run: $(BIN)/ptibot
	$(BIN)/ptibot serve

test: $(BIN)/ptibot
	$(BIN)/pytest

lint: $(BIN)/ptibot
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

catalogs: $(BIN)/ptibot
	$(BIN)/python tools/catalogs.py

diagram: $(BIN)/ptibot
	$(BIN)/python tools/readme_diagram.py

bench: $(BIN)/ptibot
	$(BIN)/python bench/turns.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
