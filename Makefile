# datagate: `make demo` builds the environment and gates the bundled sample dataset;
# `make test` builds the environment and runs the test suite. Both create .venv from pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := fixtures/build

.PHONY: venv demo test test-fast fuzz lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py datagate/inventory/_native.c datagate/_picklewalk.c datagate/_words.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO)/sample $(DEMO)/store
	$(BIN)/python -m fixtures.gen.sample $(DEMO)
	$(BIN)/datagate ingest $(DEMO)/sample --name sample --store $(DEMO)/store
	$(BIN)/datagate -q check $(DEMO)/sample --suite expectations/sample.json \
		--format html --output $(DEMO)/report.html
	@echo "HTML report: $(DEMO)/report.html   lineage store: $(DEMO)/store"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# The long fuzz run (issue 14): 20,000 mutated inputs per format family through the CLI.
# FUZZ_ARGS="--per-family 2000 --jobs 2" for a shorter one; results in fuzz-results.json.
FUZZ_ARGS ?= --per-family 20000
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run $(FUZZ_ARGS) --out fuzz-results.json

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q --skip-slow --skip-dvc --skip-browser

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check datagate tests fixtures benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/bench_hash.py --quick

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
