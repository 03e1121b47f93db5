# The two commands a fresh machine needs: `make run` (the whole platform, foreground) and
# `make test` (lint, types, all tests against real PostgreSQL and Kafka started by the tests).
SHELL := /bin/bash
UV_VERSION := 0.9.7
# uv from PATH if present, else the one `make install` puts into this Python (`python3 -m uv`).
UV := $(or $(shell command -v uv 2>/dev/null),python3 -m uv)
KUBECONFORM_VERSION := v0.8.0
KUBECONFORM := $(CURDIR)/.local/bin/kubeconform
GO := $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)

.PHONY: install test-tools run up down status test lint typecheck unit bench chaos clean asyncapi

install:  ## Python toolchain and every workspace package, from the lock file
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(UV) sync --all-packages --frozen --quiet

test-tools:  ## what the tests need beside Python; each step is skipped once its tool is there
	@# kubeconform validates the rendered manifests (tests/deploy/test_kubeconform.py); built once
	@# from the Go module proxy into .local/bin, skipped (offline) while that version is there.
	@$(GO) version -m $(KUBECONFORM) 2>/dev/null | grep -q "kubeconform[[:space:]]*$(KUBECONFORM_VERSION)[[:space:]]" \
	  || GOBIN=$(CURDIR)/.local/bin $(GO) install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)
	@# As root (CI): promtool (Debian's prometheus package; tests/deploy/test_alerts.py), PgBouncer
	@# >= 1.21 and barman-cloud with an S3 stand-in (tests/database_ops). Elsewhere those tests skip
	@# with the command to run; with CI set they fail instead.
	@if [ "$$(id -u)" = 0 ]; then \
	  command -v promtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }; \
	  bash tests/database_ops/build_pgbouncer.sh; \
	  bash tests/database_ops/install_barman_cloud.sh; \
	else echo "not root: promtool, PgBouncer and barman-cloud not installed (their tests skip)"; fi

run: install  ## PostgreSQL, Kafka, SMTP, every API and worker, demo city; Ctrl-C stops all
	@$(UV) run --frozen devstack run

up: install  ## the same in the background
	@$(UV) run --frozen devstack up

down:  ## stop what `make up` started
	@$(UV) run --frozen devstack down

status:
	@$(UV) run --frozen devstack status

lint: install  ## style, and the layers (no service imports another; routers call no repository)
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen lint-imports --no-cache

typecheck: install
	@$(UV) run --frozen mypy shared/src tools/devstack/src services/*/src bench

test: install test-tools lint typecheck  ## everything CI runs
	@$(UV) run --frozen pytest -q

unit: install
	@$(UV) run --frozen pytest -q shared/tests/unit

asyncapi: install  ## regenerate docs/asyncapi.yaml from the producers' event models
	@$(UV) run --frozen python -m tests.contracts.asyncapi

bench: install  ## benchmarks (not tests); results go to docs/benchmarks.md
	@$(UV) run --frozen python -m bench.run
	@$(UV) run --frozen python -m bench.ticketing
	@$(UV) run --frozen python -m bench.availability
	@$(UV) run --frozen python -m bench.platform
	@$(UV) run --frozen python -m bench.case

chaos: install  ## kill broker, PostgreSQL, workers, APIs under load (~15 min); docs/reliability.md
	@$(UV) run --frozen python -m bench.chaos

clean:
	rm -rf .local/run .local/test
