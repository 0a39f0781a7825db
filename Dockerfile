# eventbank's production image. The same image runs the web server (the default command) and
# every background worker: docker-compose.yml shows the whole set-up.
FROM python:3.11-slim

# Unbuffered output, so log lines reach `docker logs` as they are written.
# EVENTBANK_REQUIRE_SECRET_KEY: with no DJANGO_SECRET_KEY, settings would make up a key per
# container, and sessions and tokens signed by one container would fail in another. Refuse instead.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    EVENTBANK_DATA_DIR=/var/lib/eventbank \
    EVENTBANK_REQUIRE_SECRET_KEY=1

# A fixed uid makes the owner of mounted volumes predictable. The app user owns only its data dir
# and the NATS certificates' directory (a fresh volume mounted there takes its owner from here).
RUN groupadd --system --gid 10001 eventbank \
    && useradd --system --uid 10001 --gid eventbank --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin eventbank \
    && install -d -o eventbank -g eventbank /var/lib/eventbank /etc/eventbank/nats-tls

WORKDIR /app
COPY . .
# constraints.txt pins every transitive dependency to the versions the test suite ran with.
# The code stays owned by root: a compromised process cannot rewrite it.
RUN pip install -c constraints.txt . \
    && rm -rf build ./*.egg-info

USER eventbank

# Bake the static files in (WhiteNoise serves them). Settings refuse to load without a secret key;
# this throwaway one exists for this step only and never reaches the image's environment.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --no-input

EXPOSE 8000
# No HEALTHCHECK here: the workers run this image too and serve no HTTP; docker-compose.yml checks
# the web service itself.
# Exec form, so the web server (granian, started by ops/web_server.py) receives SIGTERM and
# lets requests finish. Threads, because requests mostly wait on PostgreSQL and NATS. Django is
# imported in each worker, never before the fork: each builds its own event-store connection
# pools (see "Fork safety" in the design notes). ops/web_server.py also ends a worker whose
# server died and lets /metrics sum every worker's request counts. Each request is logged by the
# app itself (as JSON, with its correlation id), so the server keeps no access log of its own.
# Set --workers to the cores the container gets.
CMD ["python", "-m", "ops.web_server", "--host", "0.0.0.0", "--port", "8000", "--workers", "3"]
