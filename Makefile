# Every target creates or reuses .venv with the pinned dependencies, so a fresh clone needs nothing else.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt tests/requirements.txt | cksum | cut -d' ' -f1)
SAM_VENV := .local/sam-venv
export PYTHONPATH := functions:.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv run up test chaos lint bench build validate spec clean

$(STAMP): requirements.txt tests/requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 12), f"Python 3.12 needed, found {sys.version}"'
	$(BIN)/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

run: venv  ## start the embedded default, run the main job against the Sellsy sandbox, print what happened
	$(BIN)/python -m infra.local run

up: venv  ## start the embedded default and keep serving until Ctrl-C
	$(BIN)/python -m infra.local up

# pytest's exit status 5 means "no tests collected" (a PYTEST_ARGS selection that matched none): not a failure.
test: venv  ## the whole test suite (unit, contract, integration, end-to-end, reliability, infra)
	$(BIN)/python -m pytest -n auto --maxprocesses 3 --dist load --durations=20 $(PYTEST_ARGS) || test $$? -eq 5

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: venv  ## measure the bars of README "Figures", write tests/bench/results.json
	$(BIN)/python -m tests.bench

validate: venv  ## SAM transform offline + cfn-lint on the result
	$(BIN)/python -m infra.validate

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --disable-pip-version-check -r infra/requirements-sam.txt

build: $(SAM_VENV)/bin/sam  ## sam build: one artifact per function, no tests or infra inside
	$(SAM_VENV)/bin/sam build --cached --parallel
	$(SAM_VENV)/bin/python -m infra.check_build

spec: venv  ## download the latest Sellsy OpenAPI file (online users only); tests use SELLSY_OPENAPI
	$(BIN)/python -m infra.spec

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
