# remedlab — make setup | make demo | make test
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SYSTEM_PYTHON := $(shell command -v /usr/bin/python3 || command -v python3)
# Debian packages, one a line in packages/: what the app images need at run time (the Dockerfile
# installs the same list), the servers of the embedded cluster's stores, and its host's own.
DEBIAN_LISTS := packages/debian-apps.txt packages/debian-stores.txt packages/debian-host.txt
APT_PACKAGES := $(shell sed -e 's/\#.*//' $(DEBIAN_LISTS))
POD_USER := remedlab-pod

.PHONY: setup system-packages pod-user venv flower-env bytecode demo test lint typecheck unit integration bench clean

setup: system-packages pod-user venv flower-env bytecode

# System packages (Debian/Ubuntu). Skipped when all are present or apt is missing.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then echo "remedlab: please install:$$missing"; exit 1; fi; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  echo "remedlab: installing system packages:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The unprivileged user pods run as when the server runs as root.
pod-user:
	@if [ "$$(id -u)" = 0 ] && ! id $(POD_USER) >/dev/null 2>&1; then \
	  useradd --system --no-create-home --shell /usr/sbin/nologin $(POD_USER) && echo "remedlab: created user $(POD_USER)"; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(SYSTEM_PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q -e '.[dev,ray]'
	@touch $@

venv: $(VENV)/.installed

# The Flower app's environment (pyproject's `flower` dependency group): Flower pins other versions of the
# web stack than remedlab, so its programs run from an environment of their own, as from their image.
FLOWER_ENV := $(VENV)/flower
$(FLOWER_ENV)/.installed: pyproject.toml
	@test -x $(FLOWER_ENV)/bin/python || $(SYSTEM_PYTHON) -m venv $(FLOWER_ENV)
	@$(FLOWER_ENV)/bin/python -m pip install -q --upgrade pip >/dev/null
	@cd $(CURDIR) && $(FLOWER_ENV)/bin/python -m pip install -q --group pyproject.toml:flower
	@touch $@

flower-env: $(FLOWER_ENV)/.installed

# Compiled modules for the pods: they run as another user with PYTHONDONTWRITEBYTECODE set and
# cannot write them, so without this every service start compiles remedlab's sources again.
bytecode: venv
	@PYTHONDONTWRITEBYTECODE= $(PY) -m compileall -q src >/dev/null

demo: setup
	@$(VENV)/bin/remedlab demo

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/hadolint Dockerfile

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q tests/unit

integration: setup
	$(VENV)/bin/pytest -q tests/integration

test: setup lint typecheck
	$(VENV)/bin/pytest -q -n 3 --dist loadfile

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
