#!/bin/sh
# First start of the stack's PostgreSQL (the image runs /docker-entrypoint-initdb.d/ once, on
# an empty data folder): newsmon's own role and database beside Prefect's. newsmon creates
# its tables itself, by its numbered migrations, on first use.
set -eu
: "${NEWSMON_DB_USER:=newsmon}"
: "${NEWSMON_DB_NAME:=newsmon}"
: "${NEWSMON_DB_PASSWORD:?set NEWSMON_DB_PASSWORD for newsmon's database role}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v user="$NEWSMON_DB_USER" -v password="$NEWSMON_DB_PASSWORD" -v db="$NEWSMON_DB_NAME" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
SQL
