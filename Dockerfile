# syntax=docker/dockerfile:1
# wsoa-tracker: `docker build -t wsoa-tracker .`
#
# One image, two kinds of container (compose.yaml runs both):
#   the service  docker run -p 8000:8000 -v wsoa-data:/srv/data wsoa-tracker            (the default command)
#   the worker   docker run -v wsoa-data:/srv/data wsoa-tracker wsoa worker
# The worker delivers webhooks, produces exports too large to make inline (PDF packs), opens reporting periods and
# sends reminders; run exactly one beside the service (several may share the work on PostgreSQL).
#
# Debian bookworm, the release the CI machine runs: its Pango and HarfBuzz are the ones the wheel test renders with.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The package and its run-time files (templates, migrations): the wheel test in CI builds from these same files.
COPY pyproject.toml setup.py constraints.txt README.md ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --constraint constraints.txt .

FROM python:3.11-slim-bookworm
# WeasyPrint (PDF packs) loads Pango, PangoFT2 and HarfBuzz's subsetter at run time (fontconfig and GLib come with
# them); the packs ask for DejaVu Sans, and nothing else draws a character without a font.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 wsoa \
 && useradd --system --uid 10001 --gid wsoa --home-dir /srv --no-create-home --shell /usr/sbin/nologin wsoa \
 && mkdir -p /srv/data /srv/.cache \
 && chown wsoa:wsoa /srv/data /srv/.cache
COPY --from=build /opt/venv /opt/venv
# /srv/data holds what the service keeps on disk: the SQLite database when no PostgreSQL is configured, evidence
# files with the local storage backend (S3's scratch space otherwise), e-mails written as files without SMTP.
WORKDIR /srv/data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/srv \
    MPLCONFIGDIR=/srv/.cache/matplotlib \
    WSOA_DATABASE_URL=sqlite:////srv/data/wsoa.db \
    WSOA_STORAGE_DIR=/srv/data/evidence-store
USER 10001:10001
# The charts' font cache, built once here rather than by every container's first pack.
RUN python -c "import matplotlib.font_manager"
VOLUME ["/srv/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
CMD ["wsoa", "serve", "--host", "0.0.0.0", "--port", "8000"]
