# govnet — two entry points: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test deps deps-debian venv lint typecheck unit lab-test clean

demo: deps
	$(BIN)/python scripts/demo.py

test: deps lint typecheck
	bash scripts/test-suite.sh $(BIN)

deps: deps-debian venv

deps-debian:
	@scripts/install-debian-deps.sh

venv: $(STAMP)

# Every Python dependency comes from the lock (exact versions, hashes checked); govnet itself
# is then installed editable without resolving anything again. scripts/lock.sh rewrites the lock.
$(STAMP): pyproject.toml deps/requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r deps/requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q -p no:cacheprovider -m "not lab" tests

lab-test: deps
	$(BIN)/pytest -q -p no:cacheprovider -m lab tests

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
