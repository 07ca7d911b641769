# clarion — `make run` starts the server on SQLite; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= .clarion
PG_HOST ?= 127.0.0.1

.PHONY: run test install lint typecheck docs docs-check postgres chromium bench chaos fuzz clean \
	image-test compose-check

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $@

install: $(BIN)/.installed

# Creates the venv, migrates the embedded SQLite database and starts the server. An
# operator's CLARION_ADMIN_TOKEN is used as it is; without one, a token is generated once.
run: install
	@mkdir -p $(DATA_DIR)
	@[ -n "$${CLARION_ADMIN_TOKEN:-}" ] || [ -s $(DATA_DIR)/admin-token ] || $(BIN)/python -c "import secrets; print('clarion_admin_' + secrets.token_urlsafe(24))" > $(DATA_DIR)/admin-token
	@[ ! -f $(DATA_DIR)/admin-token ] || chmod 600 $(DATA_DIR)/admin-token
	@CLARION_DATA_DIR=$(DATA_DIR) $(BIN)/clarion db migrate
	@echo "clarion will serve http://$${CLARION_HTTP_ADDRESS:-127.0.0.1:8080}"
	@if [ -n "$${CLARION_ADMIN_TOKEN:-}" ]; then \
		echo "API token (owner): your CLARION_ADMIN_TOKEN"; \
	else \
		echo "API token (owner): export CLARION_TOKEN=\$$(cat $(DATA_DIR)/admin-token)"; \
	fi
	@echo "Web pages: http://$${CLARION_HTTP_ADDRESS:-127.0.0.1:8080}/ (sign in with that token)"
	@echo "then e.g.: $(BIN)/clarion users create you@example.com --role owner"
	CLARION_DATA_DIR=$(DATA_DIR) CLARION_ADMIN_TOKEN=$${CLARION_ADMIN_TOKEN:-$$(cat $(DATA_DIR)/admin-token)} $(BIN)/clarion server

# PostgreSQL runs on every machine at 127.0.0.1:5432; start it if it is down.
postgres:
	@pg_isready -q -h $(PG_HOST) -p 5432 || { \
		for v in $$(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect $$v main start || true; done; \
		for i in $$(seq 1 30); do pg_isready -q -h $(PG_HOST) -p 5432 && break; sleep 1; done; \
		pg_isready -h $(PG_HOST) -p 5432; }

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

# Two test workers: the suite waits on servers, databases and timers as much as it computes.
test: install postgres chromium lint typecheck docs-check compose-check
	$(BIN)/pytest -q -n 2

# The documentation site (docs/, mkdocs.yml) built into site/.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The site must build without a warning: a broken link or a page left out of the nav fails.
docs-check: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# Debian's Chromium for the page tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

# Benchmarks, not tests: prints a table, writes bench/results.json and bench/results.md.
bench: $(BIN)/.bench-installed postgres
	$(BIN)/python -m bench

# 10,000 messages through replicas killed at random and a flaky sink (takes minutes; the
# test suite runs a short round). Figures: test-artifacts/chaos-<engine>.json.
chaos: install postgres
	CLARION_CHAOS_MESSAGES=$${CLARION_CHAOS_MESSAGES:-10000} $(BIN)/pytest -q -s tests/dispatch/test_chaos.py

# Schemathesis with every check and a fresh seed, 100 examples an operation (make test
# runs a short round with a fixed seed).
fuzz: install
	CLARION_FUZZ_EXAMPLES=$${CLARION_FUZZ_EXAMPLES:-100} CLARION_FUZZ_SEED=$${CLARION_FUZZ_SEED:-$$(date +%s)} \
		$(BIN)/pytest -q -s tests/api/test_schemathesis.py

# Builds the container image from a local Debian base (debootstrap) with buildah and runs it:
# /healthz, the image's HEALTHCHECK and a test notification to a sink. Needs root; takes
# minutes, so it is not part of `make test`.
image-test:
	deploy/image-test.sh

# deploy/compose.yaml checked by a compose tool, if one is installed (the test suite checks its
# structure either way).
compose-check:
	@if docker compose version >/dev/null 2>&1; then \
		docker compose -f deploy/compose.yaml --env-file deploy/.env.example config -q && echo "compose.yaml: valid (docker compose)"; \
	elif command -v podman-compose >/dev/null 2>&1; then \
		podman-compose -f deploy/compose.yaml --env-file deploy/.env.example config >/dev/null && echo "compose.yaml: valid (podman-compose)"; \
	elif command -v docker-compose >/dev/null 2>&1; then \
		docker-compose -f deploy/compose.yaml --env-file deploy/.env.example config -q && echo "compose.yaml: valid (docker-compose)"; \
	else \
		echo "compose-check: no docker compose, podman-compose or docker-compose here; skipped"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
