# The two commands a fresh machine needs: `make run` (the whole platform, foreground) and
# `make test` (lint, types, all tests against real PostgreSQL and Kafka started by the tests).
SHELL := /bin/bash
UV_VERSION := 0.9.7
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(HOME)/.local/bin/uv
endif

.PHONY: install run up down status test lint typecheck unit bench clean

install:  ## Python toolchain and every workspace package, from the lock file
	@command -v uv >/dev/null 2>&1 || test -x $(UV) || python3 -m pip install --quiet --user "uv==$(UV_VERSION)" || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --all-packages --frozen --quiet

run: install  ## PostgreSQL, Kafka, SMTP, every API and worker, demo city; Ctrl-C stops all
	@$(UV) run --frozen devstack run

up: install  ## the same in the background
	@$(UV) run --frozen devstack up

down:  ## stop what `make up` started
	@$(UV) run --frozen devstack down

status:
	@$(UV) run --frozen devstack status

lint: install
	@$(UV) run --frozen ruff check .

typecheck: install
	@$(UV) run --frozen mypy shared/src tools/devstack/src services/*/src

test: install lint typecheck  ## everything CI runs
	@$(UV) run --frozen pytest -q

unit: install
	@$(UV) run --frozen pytest -q shared/tests/unit

bench: install  ## benchmarks (not tests); results go to docs/benchmarks.md
	@$(UV) run --frozen python -m bench.run

clean:
	rm -rf .local/run .local/test
