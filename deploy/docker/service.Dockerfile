# One image per service (API, worker and migrations share it; the command picks the role).
# Build from the repository root, e.g.:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=payment \
#     -t ghcr.io/city-platform/payment-service .
FROM python:3.11-slim AS build
ARG SERVICE
COPY --from=ghcr.io/astral-sh/uv:0.9.7 /uv /usr/local/bin/uv
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

FROM python:3.11-slim
ARG SERVICE
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
