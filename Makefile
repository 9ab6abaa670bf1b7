# Two commands for a newcomer: `make run` and `make test`. Both build .venv from the hashed lock files when it is
# missing or older than them, then do their job. `make lock` regenerates the locks from requirements/*.in.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
API_PORT ?= 8000
WEB_PORT ?= 8501
export KERAS_BACKEND := torch

.PHONY: run test lint bench reliability audit venv lock clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-no-deps.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-no-deps.txt
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

# What the CLI and the API answer for every file of the bad-input corpus, with the CLI's peak memory per file, into
# docs/RELIABILITY.md (`make test` checks the same outcomes and writes nothing).
reliability: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest tests/test_bad_inputs.py -q --reliability-report docs/RELIABILITY.md

# Known vulnerabilities of every locked package: pip-audit (pinned in the dev lock) asks its advisory services, so it
# needs their network; its table replaces docs/AUDIT.md only when the audit ran.
audit: $(STAMP)
	@mkdir -p .cache
	$(BIN)/pip-audit --disable-pip --no-deps --require-hashes -r requirements-dev.txt -r requirements-no-deps.txt \
		--format markdown > .cache/AUDIT.md || test -s .cache/AUDIT.md  # exit 1 means "vulnerabilities found"
	mv .cache/AUDIT.md docs/AUDIT.md

# After editing requirements/*.in: every package resolved again and pinned by version and sha256 (pip's own resolver,
# against the indexes pip is configured with; nothing here names an index host).
lock:
	$(PYTHON) scripts/lock.py requirements/runtime.in requirements.txt
	$(PYTHON) scripts/lock.py requirements/dev.in requirements-dev.txt --base requirements.txt
	$(PYTHON) scripts/lock.py requirements/webapp.in requirements-webapp.txt
	$(PYTHON) scripts/lock.py requirements/no-deps.in requirements-no-deps.txt --no-deps

clean:
	rm -rf $(VENV) .cache
