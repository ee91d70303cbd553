# Two commands do all set-up on a fresh machine:
#   make demo   - creates .venv if missing, installs dse, runs the main job on embedded defaults
#   make test   - creates .venv if missing, installs dse, runs the whole test suite
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: venv demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/dse run examples/quick.yaml
	$(BIN)/dse pareto examples/quick.yaml

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

# Each benchmark is its own command (see BENCHMARKS.md); this re-assembles BENCHMARKS.md from bench/results/.
bench: venv
	$(BIN)/python bench/make_benchmarks_md.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
