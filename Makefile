# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
VENV := .venv
POLYTRACE := $(VENV)/bin/polytrace
PYTEST := $(VENV)/bin/pytest

.PHONY: run up down status logs deps build test unit-tests e2e deploy-checks lint bench bench-deps resilience screenshots clean

run: deps $(VENV)/.installed       ## build what is stale and run the stack in the foreground
	$(POLYTRACE) up

up: deps $(VENV)/.installed        ## the same, in the background
	$(POLYTRACE) up --detach

down:                              ## stop a background stack
	$(POLYTRACE) down

status:
	$(POLYTRACE) status

deps:                              ## system packages (apt) and toolchain checks
	@infra/install-deps.sh

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test,bench]'
	touch $@

build: deps $(VENV)/.installed
	$(POLYTRACE) build

test: build lint unit-tests e2e deploy-checks  ## every test: lint, unit tests, end-to-end suite, deploy checks

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check polytrace tests

unit-tests: build
	$(PYTEST) -q polytrace/tests
	$(POLYTRACE) unit-tests

e2e: build bench-deps               # the suite includes the quick benchmark's harness test
	$(PYTEST) -q tests --ignore=tests/deploy

deploy-checks: $(VENV)/.installed  ## Dockerfiles, compose, Helm chart: static checks (no Docker engine)
	deploy/tools.sh >/dev/null
	$(PYTEST) -q tests/deploy

OHA_VERSION := $(shell sed -n 's/^OHA_VERSION = "\(.*\)"/\1/p' polytrace/bench/load.py)
OHA := $(HOME)/.cargo/bin/oha

bench: build bench-deps            ## tracing overhead, trace completeness, startup, memory, span cost per language (QUICK=1: harness check, ~1.5 min; COLD=1: clean clone → first trace; SPAN_COST=1: only the span cost, ~2 min)
	$(POLYTRACE) bench $(if $(QUICK),--quick) $(if $(COLD),--cold) $(if $(SPAN_COST),--span-cost)

bench-deps: $(VENV)/.installed $(OHA)

$(OHA):                            # the load generator, compiled once into ~/.cargo/bin (~5 min on 2 cores)
	cargo install --locked oha@$(OHA_VERSION)

resilience: build bench-deps       ## faults under open-loop load: what survives (QUICK=1: one short scenario)
	$(POLYTRACE) resilience $(if $(QUICK),--quick)

screenshots: build                 ## docs/images/shop.png and trace.png, from a stack with the bundled viewer
	$(POLYTRACE) screenshots

clean:
	-$(POLYTRACE) down
	rm -rf .run .run-test* .run-bench* .run-resilience*
