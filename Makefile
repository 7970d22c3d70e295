# Two commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := core/static/vendor
TEST_VENDOR := tests/vendor
INTEROP := tests/interop

.PHONY: setup demo test test-postgres lint bench bench-wallet bench-qr bench-consent bench-load clean vendor openapi interop

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

setup: $(STAMP) $(VENDOR)/.stamp

demo: $(STAMP)
	$(BIN)/amana demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint $(VENDOR)/.stamp $(TEST_VENDOR)/.stamp $(INTEROP)/node_modules/.stamp
	$(BIN)/python -m pytest

# The suite again with every node on PostgreSQL (tests/on_postgres: one database per data
# directory, made on first use), browser tests and SQLite-file tests aside. Needs
# AMANA_TEST_DATABASE_URL of a role that may create databases (.ci/postgres makes one).
test-postgres: $(STAMP) $(VENDOR)/.stamp $(INTEROP)/node_modules/.stamp
	@test -n "$$AMANA_TEST_DATABASE_URL" || { echo 'set AMANA_TEST_DATABASE_URL: eval "$$(.ci/postgres)"'; exit 2; }
	ON_POSTGRES_ADMIN_URL="$$AMANA_TEST_DATABASE_URL" PYTHONPATH=tests/on_postgres $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.sdjwt
	$(BIN)/python -m bench.issuer
	$(BIN)/python -m bench.verifier

# The holder's wallet: unlock, receive and present end to end against a node on loopback (~1 min).
bench-wallet: $(STAMP)
	$(BIN)/python -m bench.wallet

# The offline QR: bytes, QR version and verify time for 1, 3 and 6 claims, beside SD-JWT VC.
bench-qr: $(STAMP)
	$(BIN)/python -m bench.qr

# The consent log: appends beside a bare insert (SQLite; PostgreSQL too with AMANA_TEST_DATABASE_URL
# or PG=<url>), and inclusion-proof verification at 1M leaves (~1 min).
bench-consent: $(STAMP)
	$(BIN)/python -m bench.consent $(if $(PG),--pg $(PG))

# Issue, present and verify under load: 50 wallets on 2 workers, then 1, on a throwaway PostgreSQL
# (PG=postgresql://… or AMANA_TEST_DATABASE_URL; its tables are dropped), 60 s each (~3 min).
bench-load: $(STAMP)
	$(BIN)/python -m bench.load $(if $(PG),--pg $(PG))

openapi: $(STAMP)
	$(BIN)/python -m server.openapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(VENDOR) $(TEST_VENDOR) $(INTEROP)/node_modules

# The QR reader for the desk's and the wallet's camera and photo scan (core/static: every service
# serves it), and the QR encoder the offline wallet page draws its QR with on the phone, vendored
# from npm at build time at pinned versions, never from a CDN (scripts/vendor-qr-reader).
$(VENDOR)/.stamp: Makefile scripts/vendor-qr-reader
	scripts/vendor-qr-reader $(VENDOR)

vendor: $(VENDOR)/.stamp

# Test-only: axe-core (pinned), which the accessibility tests inject into pages (tests/test_accessibility.py).
# Never served by the node; fetched from the npm registry like the desk's reader.
$(TEST_VENDOR)/.stamp: Makefile
	rm -rf $(TEST_VENDOR) .npm-axe && mkdir -p $(TEST_VENDOR) .npm-axe
	cd .npm-axe && npm pack --silent axe-core@4.11.0 >/dev/null
	tar -xzf .npm-axe/axe-core-4.11.0.tgz -C .npm-axe
	cp .npm-axe/package/axe.min.js $(TEST_VENDOR)/axe.min.js
	cp .npm-axe/package/LICENSE $(TEST_VENDOR)/LICENSE.axe-core
	rm -rf .npm-axe
	touch $@

# Test-only: the independent OpenID4VCI issuer and OpenID4VP verifier the wallet is tested against
# (tests/interop/README.md). Exact versions and integrity hashes in tests/interop/package-lock.json;
# `npm ci` installs them into tests/interop/node_modules only (no global install, no install scripts).
# Several packages with their own dependencies: a lockfile pins the whole tree, where `npm pack` of
# one file (axe-core above) would not.
$(INTEROP)/node_modules/.stamp: $(INTEROP)/package.json $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $@

interop: $(INTEROP)/node_modules/.stamp
