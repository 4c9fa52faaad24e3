# Developer entry points.  `make test` is the command the README and CI use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
PYTEST := $(PY) -m pytest -n 2 $(PYTEST_ARGS)
MYPY_PACKAGES := metamodel rule_engine form_renderer plugins crm_platform industry_templates

.PHONY: run test test-pg lint bench setup chromium clean vendor

setup: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the packaging config changes.
$(STAMP): setup.cfg setup.py pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test]'
	touch $@

run: $(STAMP)
	$(PY) run.py

# Debian chromium for the browser tests, and Noto CJK so Chinese pages render (and screenshot) as
# users see them; without chromium the browser tests skip (or fail when CI=true).
chromium:
	@if command -v chromium >/dev/null 2>&1 && dpkg -s fonts-noto-cjk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ]; then echo "WARNING: chromium or fonts-noto-cjk missing and not root: browser tests may skip" >&2; \
	else apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    -o DPkg::Lock::Timeout=300 chromium fonts-noto-cjk \
	  || echo "WARNING: could not install chromium: browser tests will skip" >&2; fi

test: $(STAMP) chromium
	$(PYTEST)

test-pg: $(STAMP) chromium
	CRM_TEST_DATABASE=postgresql $(PYTEST)

# mypy cannot follow setuptools' editable finder, so it sees platform/ as crm_platform
# through a symlink in build/mypy (lint-imports finds it there too).  Every check runs; any
# failure fails the target.  The rules themselves live in pyproject.toml and setup.cfg.
lint: $(STAMP)
	mkdir -p build/mypy && ln -sfn ../../platform build/mypy/crm_platform
	status=0; \
	$(PY) -m ruff check . || status=1; \
	$(PY) -m ruff format --check . || status=1; \
	MYPYPATH=build/mypy $(PY) -m mypy $(foreach p,$(MYPY_PACKAGES),-p $(p)) || status=1; \
	MYPYPATH=build/mypy $(PY) -m mypy --explicit-package-bases --follow-imports=silent run.py tests || status=1; \
	PYTHONPATH=build/mypy $(VENV)/bin/lint-imports --no-cache || status=1; \
	$(PY) tools/check_module_size.py || status=1; \
	exit $$status

# Refresh the committed browser assets from the versions pinned in frontend/package.json + lockfile.
# Only needed when a pin changes: running and testing use the committed copies and need no Node.
vendor: $(STAMP)
	npm ci --prefix frontend --no-audit --no-fund
	$(PY) tools/vendor_assets.py

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
