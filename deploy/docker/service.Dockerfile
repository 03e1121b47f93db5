# One image per service (API, worker and migrations share it; the command picks the role).
# Build from the repository root (the context; .dockerignore sends only what the image needs):
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=payment \
#     --build-arg VERSION=0.2.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
#     -t ghcr.io/city-platform/payment-service:0.2.0 .
# A release builds, pushes and pins all five by digest: deploy/docker/release.py.
#
# Base images are pinned by digest (multi-arch index digests), so a rebuild of the same commit
# starts from the same bytes; a tag would follow whatever was pushed under it last. To update,
# resolve the tag (`docker buildx imagetools inspect python:3.11-slim-bookworm`) and replace
# both lines. python:3.11-slim-bookworm (Python 3.11.16): the index Docker Hub served on
# 2026-09-21; uv 0.9.7: its release image.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.9.7@sha256:ba4857bf2a068e9bc0e64eed8563b065908a4cd6bfb66b531a9c424c8e25e142

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Every workspace member's pyproject is needed to read the lock; only SERVICE and shared are
# installed (from the lock, without dev dependencies).
COPY pyproject.toml uv.lock ./
COPY tools/devstack/pyproject.toml tools/devstack/pyproject.toml
COPY services/identity/pyproject.toml services/identity/pyproject.toml
COPY services/case/pyproject.toml services/case/pyproject.toml
COPY services/payment/pyproject.toml services/payment/pyproject.toml
COPY services/notification/pyproject.toml services/notification/pyproject.toml
COPY services/ticketing/pyproject.toml services/ticketing/pyproject.toml
COPY shared shared
COPY services/${SERVICE} services/${SERVICE}
RUN test -n "${SERVICE}" && uv sync --frozen --no-dev --no-editable --package "${SERVICE}-service"

FROM ${PYTHON_IMAGE}
ARG SERVICE
# OCI image annotations (https://github.com/opencontainers/image-spec/blob/main/annotations.md):
# which commit and version an image running in the cluster was built from.
ARG VERSION=unreleased
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/city-platform/city-platform
# The repository states no licence (SPDX: NOASSERTION); set LICENSES when it does.
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="${SERVICE}-service" \
      org.opencontainers.image.description="City platform: the ${SERVICE} service (API, worker, migrations)" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="${LICENSES}"
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/services/${SERVICE}/alembic.ini /app/services/${SERVICE}/alembic.ini
COPY --from=build /app/services/${SERVICE}/migrations /app/services/${SERVICE}/migrations
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 CITY_HTTP_HOST=0.0.0.0 CITY_HTTP_PORT=8000 \
    SERVICE=${SERVICE}
USER 10001
EXPOSE 8000
# The Kubernetes manifests set the command per role (<service>-api, -worker, alembic).
CMD ["sh", "-c", "exec ${SERVICE}-api"]
