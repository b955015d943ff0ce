# Two commands on a fresh machine: `make demo` runs the product, `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck security install lock bench clean translations

# Every package at the version and hash requirements.lock names, then the project itself with
# nothing more: the same set on every machine, and a changed download refused.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# After changing pyproject.toml's dependencies: pin them again (needs the package index).
lock: install
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

install: $(STAMP)

demo: install
	$(BIN)/outreach demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Any medium- or high-severity finding in the shipped code fails `make test`.
security: install
	$(BIN)/bandit -c pyproject.toml -r outreach webhooks --severity-level medium --quiet

# The browser tests drive Debian's chromium (Playwright's own browser download does not work
# offline); installed here so `make test` needs nothing else on a fresh machine.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

# axe-core checks every page in the browser tests (issue 22 item 9): the npm package, pinned by
# tests/browser/axe/package-lock.json and installed there once; the tests then need no network.
AXE_DIR := tests/browser/axe
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js

$(AXE): $(AXE_DIR)/package-lock.json
	command -v npm >/dev/null || apt-get install -y npm || (apt-get update && apt-get install -y npm)
	cd $(AXE_DIR) && npm ci --no-audit --no-fund --ignore-scripts
	touch $(AXE)

test: lint typecheck security $(CHROMIUM) $(AXE)
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/plan.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis $(AXE_DIR)/node_modules

# Staff screens in English and Spanish (issue 22 item 8): after changing a marked string, pull
# the strings out of the code and templates, merge them into the Spanish catalogue (translate
# the new entries there), then compile it. The compiled .mo is committed, so a fresh clone
# shows Spanish with no step of its own; tests/functional/test_staff_language.py fails when
# the catalogue lags behind the code.
TRANSLATIONS := outreach/web/translations

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --no-location --sort-output \
		-o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-pot-creation-date --width 100 \
		-i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l es
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS) -l es
