# Two commands matter: `make run` (the whole platform locally) and `make test` (the whole suite).
# Both install what is missing first (tools/bootstrap.sh) and are quiet when all is in place.
SHELL := /bin/bash
LISA_CACHE ?= $(HOME)/.cache/lisa
export LISA_CACHE
VENV := $(LISA_CACHE)/venv-$(shell sha256sum requirements.txt | cut -c1-12)
PY := $(VENV)/bin/python
PULUMI_VERSION := $(shell awk '$$1=="github.com/pulumi/pulumi/pkg/v3" {print $$2; exit}' tools/pulumi/go.mod)
export LISA_PULUMI_ROOT ?= $(LISA_CACHE)/pulumi/$(PULUMI_VERSION)
export PATH := $(LISA_PULUMI_ROOT)/bin:$(PATH)
export PULUMI_PYTHON_CMD := $(PY)
export PULUMI_HOME ?= $(LISA_CACHE)/pulumi-home
export PULUMI_SKIP_UPDATE_CHECK := true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION := true
export LITELLM_LOCAL_MODEL_COST_MAP := True
export PYTHONPATH := $(CURDIR)
# The local stack's state folder: STATE=..., else LISA_STATE_DIR (as `python -m services.local` reads it), else .lisa
STATE ?= $(or $(LISA_STATE_DIR),$(CURDIR)/.lisa)
STAGE ?= dev
PYTEST_ARGS ?=

.PHONY: run test setup api-types fuzz bench-gateway bench-gateway-cpu bench-soak bench-rag bench-lifecycle bench-local-start preview clean-state pulumi-cli

setup:
	@tools/bootstrap.sh

run:
	@tools/bootstrap.sh venv pulumi opensearch web
	@$(PY) -m services.local --state-dir "$(STATE)"

test:
	@tools/bootstrap.sh
	@cd web && npm test --silent && npm run --silent lint
	@PY=$(PY) tools/api_types.sh --check
	@$(PY) -m pytest -q $(PYTEST_ARGS)

# The web UI's wire types (web/src/api/schema.d.ts) from the api's OpenAPI; make test fails when they differ.
api-types:
	@tools/bootstrap.sh venv web
	@PY=$(PY) tools/api_types.sh

pulumi-cli:
	@tools/bootstrap.sh pulumi

# The long fuzz run (make test runs the same tests on a small budget): the api as an admin and as a user, serve's routes.
fuzz:
	@tools/bootstrap.sh venv pulumi opensearch
	@LISA_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),25) LISA_SERVE_FUZZ_EXAMPLES=$(or $(SERVE_FUZZ_EXAMPLES),100) \
	  $(PY) -m pytest -q -s tests/integration/test_api_fuzz.py tests/integration/serve/test_serve_fuzz.py

bench-gateway:
	@tools/bootstrap.sh venv bench
	@LISA_LITELLM_PROXY_DEPS=$(LISA_CACHE)/litellm-proxy-deps-$(shell sha256sum benchmarks/litellm-proxy-requirements.txt | cut -c1-12) \
	  $(PY) benchmarks/gateway.py

bench-gateway-cpu:
	@tools/bootstrap.sh venv
	@$(PY) benchmarks/gateway_cpu.py $(if $(REPO),--repo $(REPO))

# Serve (and the api's sessions and search) under half of bench-gateway's RPS: SOAK_DURATION seconds (default 1800).
bench-soak:
	@tools/bootstrap.sh venv pulumi
	@LISA_SOAK_DURATION=$(or $(SOAK_DURATION),$(LISA_SOAK_DURATION),1800) $(PY) benchmarks/soak.py $(SOAK_ARGS)

bench-rag:
	@tools/bootstrap.sh venv
	@$(PY) benchmarks/rag.py

bench-lifecycle:
	@tools/bootstrap.sh venv pulumi
	@$(PY) benchmarks/lifecycle.py $(LIFECYCLE_ARGS)

bench-local-start:
	@tools/bootstrap.sh venv pulumi opensearch
	@$(PY) benchmarks/local_start.py

preview:
	@tools/bootstrap.sh venv
	@$(PY) -m services.local.preview --stage $(STAGE)

clean-state:
	@rm -rf "$(STATE)"
	@echo "removed $(STATE)"
