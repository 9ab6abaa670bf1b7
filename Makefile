# Two commands for a newcomer: `make run` and `make test`. Both build .venv from the pinned requirement
# files when it is missing or older than them, then do their job.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
API_PORT ?= 8000
WEB_PORT ?= 8501
export KERAS_BACKEND := torch

.PHONY: run test lint bench audit venv clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(STAMP)
	API_PORT=$(API_PORT) WEB_PORT=$(WEB_PORT) PATH="$(abspath $(BIN)):$$PATH" ./scripts/run.sh

# pytest exits 5 when it collects no tests: not a failure of the project.
test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every benchmark under bench/, figures and targets into docs/BENCHMARKS.md (25-35 min on 2 idle cores).
# BENCH_ARGS=--quick: a one-minute smoke run; BENCH_ARGS=--full: adds 10 min of 720p video.
bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/collect.py $(BENCH_ARGS)

# Known vulnerabilities of the pinned packages: pip-audit (needs each release's page on PyPI or OSV, not reachable
# from every network), then what PyPI's project pages tell into docs/AUDIT.md.
audit: $(STAMP)
	$(BIN)/pip install -q pip-audit==2.10.1
	$(BIN)/pip-audit --disable-pip --no-deps -r requirements.txt -r requirements-dev.txt
	$(BIN)/python scripts/pypi_advisories.py > docs/AUDIT.md

clean:
	rm -rf $(VENV) .cache
