# Export Job Desk. `make run` serves the dashboard; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PORT ?= 8000

.PHONY: run dev team test test-stress lint bench check-python clean prepare secret messages translations lock

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Export Job Desk needs Python 3.10 or newer; set PYTHON=python3.x")'

PIP_VERSION = 26.3
UV_VERSION = 0.13.9

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet pip==$(PIP_VERSION)

# What is installed is the lock files: every dependency, transitive ones included, pinned with its
# hashes; pip refuses anything unpinned, unhashed or with another hash. People edit requirements.txt
# (the desk) and requirements-dev.txt (tests and tools), then run `make lock`.
$(VENV)/.runtime: requirements.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

$(VENV)/.dev: requirements.lock requirements-dev.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $@ $(VENV)/.runtime

# After changing requirements.txt or requirements-dev.txt: the lock files again, in one command. Pins
# already locked stay as they are (LOCK_ARGS=--upgrade moves every one to its newest release). The
# desk's lock holds for Python 3.10 and newer; the tests' for 3.11 and newer (Hypothesis needs it), with
# the desk's own pins as constraints, so both install the same versions of what they share.
UV = $(VENV)/bin/uv
LOCK_ARGS ?=
$(UV): | $(PY)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)

lock: $(UV)
	$(UV) pip compile --quiet --universal --python-version 3.10 --generate-hashes --custom-compile-command "make lock" \
		$(LOCK_ARGS) --output-file requirements.lock requirements.txt
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		$(LOCK_ARGS) --constraint requirements.lock --output-file requirements-dev.lock requirements-dev.txt

# A random SECRET_KEY, written once to the git-ignored .env (unless the environment or .env has one);
# .env is made readable by its owner only (0600), also when it already existed.
secret: | $(PY)
	@$(PY) -m exportjobs.envfile .env

# Commands that only read the code (translations, type checks) need settings that load, not the desk's
# secret: a throwaway SECRET_KEY, and no .env (so they also work on a fresh clone before `make secret`).
NO_SETTINGS = READ_DOT_ENV=0 SECRET_KEY=build-only-$$($(PY) -c 'import secrets; print(secrets.token_hex(32))')

# The translations: locale/<language>/LC_MESSAGES/django.po, compiled to .mo files (never committed).
messages: $(VENV)/.runtime
	@command -v msgfmt >/dev/null 2>&1 || { echo "msgfmt is missing: install gettext (apt-get install -y gettext)" >&2; exit 1; }
	$(NO_SETTINGS) $(PY) manage.py compilemessages --ignore=.venv --ignore=var --ignore=node_modules -v 0

# After changing a user-facing string: update the .po files from the code and templates (then translate).
translations: $(VENV)/.runtime
	$(NO_SETTINGS) $(PY) manage.py makemessages --no-obsolete --add-location=file --ignore=.venv --ignore=var --ignore=bench \
		--ignore=tests --ignore="exportjobs/sandbox/server.py" $(foreach l,da sv de es fr,-l $(l))

# Everything make run creates is private to its owner: var/ 0700, the SQLite database 0600.
prepare: $(VENV)/.runtime secret messages
	@umask 077 && mkdir -p var && chmod 700 var
	umask 077 && $(PY) manage.py migrate --noinput -v 0
	umask 077 && $(PY) manage.py createcachetable
	umask 077 && $(PY) manage.py collectstatic --noinput -v 0

run: prepare
	umask 077 && $(PY) manage.py rundesk

dev: prepare
	umask 077 && $(PY) manage.py rundesk --dev

# A team's set-up on loopback: nginx (TLS, a throwaway certificate) on https://127.0.0.1:8443 in front of two
# hosts, 127.0.0.2 and 127.0.0.3, sharing DATABASE_URL (PostgreSQL) and CACHE_URL (Redis); see deploy/team.py.
team: $(VENV)/.runtime secret messages
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "nginx is missing: apt-get install -y nginx" >&2; exit 1; }
	@umask 077 && mkdir -p var && chmod 700 var
	umask 077 && $(PY) manage.py collectstatic --noinput -v 0
	umask 077 && $(PY) -m deploy.team up

# The gates: lint, formatting and strict typing. A finding fails `make test` like a red test.
LINT_PATHS ?= .
TYPE_PATHS ?=
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(NO_SETTINGS) $(VENV)/bin/mypy $(TYPE_PATHS)

# The suite in TEST_WORKERS processes (pytest-xdist), each test file whole on one of them (pytest.ini's
# --dist loadfile). TEST_WORKERS=0 runs it in this process alone.
TEST_WORKERS ?= 2
test: lint messages
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The timing-sensitive test files STRESS_RUNS times over, one core kept busy, in TEST_WORKERS processes as
# make test runs them: prints how many runs passed.
STRESS_RUNS ?= 10
test-stress: $(VENV)/.dev messages
	$(PY) -m tests.stress --runs $(STRESS_RUNS) --workers $(TEST_WORKERS) $(STRESS_FILES)

bench: $(VENV)/.dev secret messages
	$(PY) bench/run.py $(if $(SOAK_MINUTES),--soak-minutes $(SOAK_MINUTES)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
