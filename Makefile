# Two commands do all set-up on a fresh machine:
#   make demo   - creates .venv if missing, installs dse, runs the main job on embedded defaults
#   make test   - creates .venv if missing, installs dse, runs the whole test suite
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: venv browser demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# OS packages of the dashboard's browser test (tests/test_dashboard.py): Debian's chromium and chromium-driver,
# installed when missing and run as root with apt-get (on CI), otherwise the line to run is printed.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium chromium-driver (the dashboard's browser test)"; \
		export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "the dashboard's browser test needs chromium; as root run: apt-get update && apt-get install -y chromium chromium-driver"; \
	fi

demo: venv
	$(BIN)/dse run examples/quick.yaml
	$(BIN)/dse pareto examples/quick.yaml

test: venv browser
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
