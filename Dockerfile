# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml setup.py constraints.txt README.md ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv wsoa \
 && mkdir -p /srv/data && chown wsoa /srv/data
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    WSOA_DATABASE_URL=sqlite:////srv/data/wsoa.db \
    WSOA_STORAGE_DIR=/srv/data/evidence-store
USER wsoa
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
CMD ["wsoa", "serve", "--host", "0.0.0.0", "--port", "8000"]
