# The service on the embedded SQLite store, the log kept on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    INCIDENTS_DATABASE_URL=sqlite:////data/incidents.db

RUN useradd --create-home --uid 10001 incidents \
    && mkdir /data && chown incidents:incidents /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY incidents ./incidents
COPY seeds ./seeds
RUN pip install .

USER incidents
VOLUME ["/data"]
EXPOSE 8000

ENTRYPOINT ["incidents"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
