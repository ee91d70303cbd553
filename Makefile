# Two commands do all set-up on a fresh machine:
#   make demo   - creates .venv if missing, installs dse, runs the main job on embedded defaults
#   make test   - creates .venv if missing, installs dse, runs the whole test suite
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# the suite runs in this many processes (pytest-xdist), each test file whole in one of them (its module
# fixtures are built once); 2 = the CI machine's cores
TEST_WORKERS ?= 2

.PHONY: venv hdl-tools browser demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	# Norse for the NIR tests, without its dependencies (see the dev extra in pyproject.toml)
	$(BIN)/python -m pip install -q --no-deps "norse==1.1.0"
	touch $(STAMP)

venv: hdl-tools $(STAMP)

# OS packages of the SNN family's hardware flow (GHDL, Yosys, iverilog, Verilator; Debian bookworm names):
# installed with apt-get when one of ghdl/yosys/iverilog is missing and we are root (CI), else the line
# to run is printed and make fails. nextpnr and a fallback Yosys come from PyPI (yowasp-*) in the venv.
HDL_APT := apt-get update && apt-get install -y ghdl yosys iverilog verilator
hdl-tools:
	@if command -v ghdl >/dev/null 2>&1 && command -v yosys >/dev/null 2>&1 && command -v iverilog >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing ghdl yosys iverilog verilator (the SNN family's HDL tools)"; \
		export DEBIAN_FRONTEND=noninteractive; $(HDL_APT); \
	else \
		echo "the SNN family needs GHDL, Yosys and iverilog; as root run: $(HDL_APT)"; exit 1; \
	fi

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
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

# Each benchmark is its own command (see BENCHMARKS.md); this re-assembles BENCHMARKS.md from bench/results/.
bench: venv
	$(BIN)/python bench/make_benchmarks_md.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
