# Every target creates or reuses the venv it needs from hash-pinned lock files, so a fresh clone needs nothing else.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := -m pip install -q --disable-pip-version-check --require-hashes
# uv installs a lock in seconds (pip takes about a minute for the dev one); pip stays the fallback, e.g. where
# packages come only through an index pip.conf names (uv does not read it).
install = $(UV) pip install -q --compile-bytecode --require-hashes --python $(1)/bin/python -r $(2) || $(1)/bin/python $(PIP_INSTALL) -r $(2)
# Lock files (`make lock` compiles each from the .in file beside it; requirements.txt from infra/requirements/runtime.in).
RUNTIME_LOCK := requirements.txt
LOCAL_LOCK := infra/requirements/local.txt
DEV_LOCK := tests/requirements.txt
VALIDATE_LOCK := infra/requirements/validate.txt
SAM_LOCK := infra/requirements/sam.txt
# A venv is (re)installed whenever one of the lock files it is built from changes.
stamp = $(1)/.installed-$(2)-$(shell cat $(3) | cksum | cut -d' ' -f1)
LOCAL_STAMP := $(call stamp,$(VENV),local,$(RUNTIME_LOCK) $(LOCAL_LOCK))
DEV_STAMP := $(call stamp,$(VENV),dev,$(RUNTIME_LOCK) $(LOCAL_LOCK) $(DEV_LOCK))
VALIDATE_VENV := .local/validate-venv
VALIDATE_STAMP := $(call stamp,$(VALIDATE_VENV),validate,$(VALIDATE_LOCK))
SAM_VENV := .local/sam-venv
SAM_STAMP := $(call stamp,$(SAM_VENV),sam,$(SAM_LOCK))
LOCK_VENV := .local/lock-venv
UV_VERSION := 0.13.9
UV := $(LOCK_VENV)/bin/uv
export PYTHONPATH := functions:.
# Bytecode is kept: without it every test worker and subprocess compiles boto3, moto and the rest again
# (about 8 s a start instead of 2.5 s). __pycache__ is ignored by git and left out of the Lambda artifacts.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: venv venv-local validate-venv sam-venv lock run up test chaos lint bench build deploy validate spec query redrive smoke clean

define make_venv
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	@$(1)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 12), f"Python 3.12 needed, found {sys.version}"'
endef

$(LOCAL_STAMP): $(RUNTIME_LOCK) $(LOCAL_LOCK) | $(UV)
	$(call make_venv,$(VENV))
	$(call install,$(VENV),$(LOCAL_LOCK))
	@rm -f $(VENV)/.installed-local-* && touch $@

# The dev lock holds the local one at the same versions, so installing it satisfies both.
$(DEV_STAMP): $(RUNTIME_LOCK) $(LOCAL_LOCK) $(DEV_LOCK) | $(UV)
	$(call make_venv,$(VENV))
	$(call install,$(VENV),$(DEV_LOCK))
	@rm -f $(VENV)/.installed-* && touch $@ $(LOCAL_STAMP)

venv-local: $(LOCAL_STAMP)  ## runtime + embedded default (moto server, Sellsy sandbox): what run/up need

venv: $(DEV_STAMP)  ## venv-local + test and lint tools

$(VALIDATE_STAMP): $(VALIDATE_LOCK) | $(UV)
	$(call make_venv,$(VALIDATE_VENV))
	$(call install,$(VALIDATE_VENV),$(VALIDATE_LOCK))
	@rm -f $(VALIDATE_VENV)/.installed-* && touch $@

validate-venv: $(VALIDATE_STAMP)

$(SAM_STAMP): $(SAM_LOCK) | $(UV)
	$(call make_venv,$(SAM_VENV))
	$(call install,$(SAM_VENV),$(SAM_LOCK))
	@rm -f $(SAM_VENV)/.installed-* && touch $@

sam-venv: $(SAM_STAMP)

$(UV):
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# Keeps every pin already in a lock unless an input needs another; `make lock UPGRADE=1` moves all to the newest.
COMPILE = $(UV) pip compile --quiet --universal --python-version 3.12 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

lock: $(UV)  ## re-resolve every lock file from its .in (after editing one)
	$(COMPILE) infra/requirements/runtime.in -o $(RUNTIME_LOCK)
	$(COMPILE) infra/requirements/local.in -o $(LOCAL_LOCK)
	$(COMPILE) tests/requirements.in -o $(DEV_LOCK)
	$(COMPILE) infra/requirements/validate.in -o $(VALIDATE_LOCK)
	$(COMPILE) infra/requirements/sam.in -o $(SAM_LOCK)

run: venv-local  ## start the embedded default, run the main job against the Sellsy sandbox, print what happened
	$(BIN)/python -m infra.local run

up: venv-local  ## start the embedded default and keep serving until Ctrl-C
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

validate: $(VALIDATE_STAMP)  ## SAM transform offline + cfn-lint on the result
	$(VALIDATE_VENV)/bin/python -m infra.validate

build: $(SAM_STAMP) $(LOCAL_STAMP)  ## sam build, compile the artifacts' bytecode, prove every handler starts from its artifact
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --cached --parallel
	$(BIN)/python -m infra.precompile .aws-sam/build
	$(BIN)/python -m infra.check_artifact --lambda-build .aws-sam/build

deploy: build  ## sam deploy with the project's own SAM CLI (.local/sam-venv): make deploy ENV=dev|prod, GUIDED=1 the first time
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy $(if $(GUIDED),--guided,--config-env $(or $(ENV),dev))

smoke: venv-local  ## first steps against a running API: make smoke URL=<ApiUrl> (IAM-signed), TOKEN=<bearer> for the embedded default
	$(BIN)/python -m infra.smoke "$(URL)" $(if $(TOKEN),--token "$(TOKEN)")

query: venv-local  ## SQL over the local snapshot with DuckDB, the Athena tables' names: make query SQL="SELECT ..." (SQL=mrr: README example)
	$(BIN)/python -m infra.query

redrive: venv-local  ## move the events DLQ back onto the events queue: make redrive STACK=<stack> (or QUEUE_URL=<events queue url>)
	$(BIN)/python -m infra.redrive $(if $(STACK),--stack $(STACK),--queue-url "$(QUEUE_URL)") $(if $(LIMIT),--limit $(LIMIT))

spec: venv  ## download the latest Sellsy OpenAPI file (online users only); tests use SELLSY_OPENAPI
	$(BIN)/python -m infra.spec

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
