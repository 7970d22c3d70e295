# Two commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := core/static/vendor
TEST_VENDOR := tests/vendor
INTEROP := tests/interop

.PHONY: setup demo test lint bench bench-wallet bench-consent clean vendor openapi interop

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

bench: $(STAMP)
	$(BIN)/python -m bench.sdjwt
	$(BIN)/python -m bench.issuer

# The holder's wallet: unlock, receive and present end to end against a node on loopback (~1 min).
bench-wallet: $(STAMP)
	$(BIN)/python -m bench.wallet

# The consent log: appends beside a bare insert (SQLite; PostgreSQL too with AMANA_TEST_DATABASE_URL
# or PG=<url>), and inclusion-proof verification at 1M leaves (~1 min).
bench-consent: $(STAMP)
	$(BIN)/python -m bench.consent $(if $(PG),--pg $(PG))

openapi: $(STAMP)
	$(BIN)/python -m server.openapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(VENDOR) $(TEST_VENDOR) $(INTEROP)/node_modules

# The QR reader for the desk's and the wallet's camera and photo scan (core/static: every service
# serves it), vendored from npm at build time (pinned
# versions; served from this node, never a CDN): barcode-detector's ponyfill and zxing's WASM.
$(VENDOR)/.stamp: Makefile
	rm -rf $(VENDOR) .npm-vendor && mkdir -p $(VENDOR) .npm-vendor
	cd .npm-vendor && npm pack --silent barcode-detector@3.2.2 zxing-wasm@3.1.3 >/dev/null
	tar -xzf .npm-vendor/barcode-detector-3.2.2.tgz -C .npm-vendor && mv .npm-vendor/package .npm-vendor/bd
	tar -xzf .npm-vendor/zxing-wasm-3.1.3.tgz -C .npm-vendor && mv .npm-vendor/package .npm-vendor/zx
	cp .npm-vendor/bd/dist/iife/ponyfill.js $(VENDOR)/barcode-detector.js
	cp .npm-vendor/bd/LICENSE $(VENDOR)/LICENSE.barcode-detector
	cp .npm-vendor/zx/dist/reader/zxing_reader.wasm $(VENDOR)/zxing_reader.wasm
	cp .npm-vendor/zx/LICENSE $(VENDOR)/LICENSE.zxing-wasm
	rm -rf .npm-vendor
	touch $@

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
