# Leadloop: `make run` serves the app with its worker; `make test` runs the whole suite.
# Both set themselves up on a fresh clone (uv, a .venv on the Python of .python-version).

PORT ?= 8000
# Without EMAIL_URL, `make run` starts a local SMTP server (the Procfile's `mail`) on
# MAIL_PORT and sends there; /mailbox/ shows what it received. With EMAIL_URL set, mail
# goes there and no local server starts (so too with EMAIL_BACKEND, a provider's API).
MAIL_PORT ?= 8025
ifeq ($(strip $(EMAIL_URL)$(EMAIL_BACKEND)),)
RUN_MAIL := EMAIL_URL=smtp://127.0.0.1:$(MAIL_PORT) MAIL_PORT=$(MAIL_PORT)
RUN_PROCESSES := web worker mail
else
RUN_MAIL :=
RUN_PROCESSES := web worker
endif
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint typecheck bench check-upgrade worker clean-data screenshots

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/leadloop migrate --no-input
	$(BIN)/leadloop createcachetable
	$(BIN)/leadloop seed_demo --if-empty
	@echo ""
	@echo "  Leadloop is starting at http://127.0.0.1:$(PORT)/"
	@echo "  Log in as rep1, manager1, marketing or admin (password: demo). Ctrl-C stops everything."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(RUN_MAIL) $(BIN)/honcho -f Procfile start -p $(PORT) $(RUN_PROCESSES)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

test: install lint typecheck
	$(BIN)/leadloop makemigrations --check --dry-run
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/bench_capture.py

# A database seeded by an older commit's code migrates here without losing a row
# (docs/upgrading.md); with DATABASE_URL=postgres://… it runs on that server too.
BASE ?= 5d1fa37
check-upgrade: install
	$(BIN)/python scripts/check_upgrade.py --base $(BASE)

# The README's screenshots (docs/screenshots/): each role's first pages, photographed in
# Chromium from a freshly seeded demo in a temporary directory (scripts/screenshots.py;
# WALK=1 also walks every page of each role's navigation on the demo data first).
screenshots: install
	$(BIN)/python scripts/screenshots.py --out docs/screenshots $(if $(WALK),--walk)
