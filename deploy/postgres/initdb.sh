#!/bin/bash
# Creates polytrace's roles, schemas and seed data from infra/postgres/*.sql (mounted at /polytrace/sql).
# The postgres image runs this once, from /docker-entrypoint-initdb.d, when its data volume is empty.
# The SQL takes the service passwords as psql variables (never written into a file), exactly as
# `polytrace up` runs it (polytrace/postgres.py).
set -euo pipefail

: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}"
: "${CATALOG_DB_PASSWORD:?CATALOG_DB_PASSWORD is required (deploy/.env)}"
: "${PRICING_DB_PASSWORD:?PRICING_DB_PASSWORD is required (deploy/.env)}"
: "${STOCK_DB_PASSWORD:?STOCK_DB_PASSWORD is required (deploy/.env)}"
: "${ANALYTICS_DB_PASSWORD:?ANALYTICS_DB_PASSWORD is required (deploy/.env)}"

for script in /polytrace/sql/*.sql; do
  echo "polytrace: applying ${script##*/}"
  psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v catalog_password="$CATALOG_DB_PASSWORD" \
    -v pricing_password="$PRICING_DB_PASSWORD" \
    -v stock_password="$STOCK_DB_PASSWORD" \
    -v analytics_password="$ANALYTICS_DB_PASSWORD" \
    -f "$script"
done
