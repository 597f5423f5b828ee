# The service on the embedded SQLite store, the log kept on the /data volume (README,
# "Container"). tests/e2e/test_container.py builds what this file builds without an engine:
# it copies what the COPY lines copy, runs the RUN lines after WORKDIR and starts the CMD.
#
# The base is python:3.11.14-slim (what python:3.11-slim named in August 2026, Debian trixie),
# pinned by the digest of its multi-platform index so that a re-pushed tag changes nothing.
FROM python:3.11.14-slim@sha256:c8271b1f627d0068857dce5b53e14a9558603b527e46f1f901722f935b786a39

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    INCIDENTS_DATABASE_URL=sqlite:////data/incidents.db

# A numeric user, so that the host (and --user, chown) can name it: 10001.
RUN useradd --create-home --uid 10001 --user-group incidents \
    && mkdir /data && chown 10001:10001 /data

WORKDIR /app

# The dependencies, from the hashed lock, in a layer of their own: rebuilt only when the lock
# changes, not on every change to the code.
COPY requirements/serve.txt requirements/serve.txt
RUN python -m venv "$VIRTUAL_ENV" \
    && pip install --require-hashes --no-deps -r requirements/serve.txt

# The project itself, with nothing more from the index.
COPY pyproject.toml README.md ./
COPY incidents incidents
COPY seeds seeds
RUN pip install --no-deps .

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

# The slim image has no curl: the standard library asks /health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

ENTRYPOINT ["incidents"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
