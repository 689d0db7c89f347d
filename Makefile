# SciArena. `make run` serves the demo; `make test` runs the suite. See README.md.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: run test faults lint format bench messages clean help audit deploy-check

help:
	@echo "make run    set up and serve the demo on http://$(HOST):$(PORT)/"
	@echo "make test   set up and run the test suite"
	@echo "make faults the fault suite: private Redis/PostgreSQL, servers broken mid-round"
	@echo "make deploy-check  docs/deploy.md's set-up (nginx, 2 daphne, Celery) brought up, a round played"
	@echo "make lint   ruff, migrations check, import contracts, mypy on the pure modules"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make audit  check the installed dependencies for known vulnerabilities (needs the network)"

$(PY):
	$(PYTHON) -c 'import sys; sys.exit("SciArena needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  SciArena is at      http://$(HOST):$(PORT)/"
	@echo "  Admin:              http://$(HOST):$(PORT)/admin/"
	@echo "  Health:             http://$(HOST):$(PORT)/healthz"
	@echo "  Demo logins are printed above. Stop with Ctrl-C."
	@echo ""
	$(PY) -m config.serve -b $(HOST) -p $(PORT)

# The suite runs on TEST_WORKERS processes (pytest-xdist; `auto`: one per CPU core, at
# most 4), about half the time of one on two cores; TEST_WORKERS=0 or PYTEST_ARGS="-n 0"
# runs it in one. Work stealing balances the workers; tests/conftest.py hands out the
# slowest tests first and gives each worker its own Redis database. README.md, "Tests".
TEST_WORKERS ?= auto

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist worksteal $(PYTEST_ARGS)

# The fault suite (tests/faults; docs/architecture.md, "Fault suite"): it starts its own
# Redis and PostgreSQL and breaks them, a daphne process and a Celery worker under a
# 50-player round. `make test` leaves it out (pyproject.toml's addopts deselect the
# `faults` marker). One process; each scenario is bounded, the whole run too.
FAULTS_TIMEOUT ?= 300

faults: $(STAMP)
	timeout -k 10 $(FAULTS_TIMEOUT) $(PY) -m pytest -m faults tests/faults -p no:randomly -p no:xdist $(PYTEST_ARGS)

# docs/deploy.md's production set-up, brought up on this machine from the page's own
# nginx config and unit command lines (.ci/deploy_check.py): Debian's nginx with TLS on
# high ports, two daphne processes, a Celery worker and beat, DEBUG=0, on the machine's
# PostgreSQL and Redis (a fresh database and Redis database 15, both removed after),
# then a live round and forged X-Forwarded-For headers through nginx. Needs nginx.
DEPLOY_CHECK_TIMEOUT ?= 300

deploy-check: $(STAMP)
	timeout -k 10 $(DEPLOY_CHECK_TIMEOUT) $(PY) .ci/deploy_check.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	@set -e; for script in bench/[!_]*.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(PY) $$script; done

messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore='.venv/*' --ignore='tests/*' --ignore='bench/*'
	$(PY) manage.py makemessages -d djangojs -l zh_Hans -l en --ignore='.venv/*' --ignore='staticfiles/*' --ignore='frontend/static/vendor/*'
	$(PY) manage.py compilemessages --ignore='.venv/*'

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# Known vulnerabilities in the installed dependencies (docs/security.md, "Dependencies").
# pip-audit asks PyPI's vulnerability data over the network; .ci/audit.py fails when
# any package could not be checked, so a run without the network cannot pass.
audit: $(STAMP)
	$(PY) -m pip install --quiet 'pip-audit>=2.7'
	$(PY) .ci/audit.py
