#!/usr/bin/env bash
# Start a throw-away PostgreSQL for tests/test_storage_postgres.py on a Debian CI machine.
#
#   eval "$(.ci/postgres.sh)"     # then: .venv/bin/pytest -m postgres
#
# Runs only as root, with CI=true and apt-get available; otherwise it says why on stderr and
# exits 0 without doing anything (so it is always safe to call). It installs Debian's
# `postgresql` package if no server is installed, starts a cluster listening on 127.0.0.1
# (pg_ctlcluster; plain initdb/pg_ctl as the postgres user where postgresql-common is missing),
# creates the role and database $DSE_PG_USER / $DSE_PG_DB (default dse_test) with password
# $DSE_TEST_POSTGRES_PASSWORD (generated when unset), and prints one line on stdout:
#
#   export DSE_TEST_POSTGRES_URL=postgresql://dse_test:<password>@127.0.0.1:<port>/dse_test
#
# Everything else goes to stderr. Re-running it is harmless (the role's password is reset).
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }
skip() { say "skipped: $*"; exit 0; }

[[ "${CI:-}" == "true" ]] || skip "CI is not 'true' (this script installs system packages)"
[[ "$(id -u)" == "0" ]] || skip "not running as root"
command -v apt-get >/dev/null 2>&1 || skip "apt-get not available (not Debian/Ubuntu)"

DB_USER="${DSE_PG_USER:-dse_test}"
DB_NAME="${DSE_PG_DB:-dse_test}"
[[ "$DB_USER" =~ ^[a-z_][a-z0-9_]*$ && "$DB_NAME" =~ ^[a-z_][a-z0-9_]*$ ]] \
    || { say "DSE_PG_USER/DSE_PG_DB must be plain lower-case identifiers"; exit 1; }
PASSWORD="${DSE_TEST_POSTGRES_PASSWORD:-}"
if [[ -z "$PASSWORD" ]]; then
    PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
fi

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

# 1. install
if [[ -z "$(pg_bindir)" ]]; then
    say "installing postgresql from the Debian archive ..."
    t0=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    say "installed in $((SECONDS - t0)) s"
fi
BIN="$(pg_bindir)"
[[ -n "$BIN" ]] || { say "no PostgreSQL server binaries under /usr/lib/postgresql"; exit 1; }
VERSION="$(basename "$(dirname "$BIN")")"

# 2. start a cluster on 127.0.0.1
if command -v pg_lsclusters >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
    if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main"' | grep -q .; then
        say "creating cluster $VERSION/main"
        pg_createcluster "$VERSION" main >&2
    fi
    PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')"
    if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
        say "starting cluster $VERSION/main on port $PORT"
        pg_ctlcluster "$VERSION" main start -- -o "-c listen_addresses=127.0.0.1" >&2 \
            || pg_ctlcluster "$VERSION" main start >&2
    fi
else
    # No postgresql-common: a private cluster run by the postgres user.
    PORT="${DSE_PG_PORT:-5432}"
    DATA=/var/lib/postgresql/dse-ci
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    install -d -o postgres -g postgres /var/lib/postgresql /run/postgresql
    if [[ ! -s "$DATA/PG_VERSION" ]]; then
        install -d -o postgres -g postgres "$DATA"
        runuser -u postgres -- "$BIN/initdb" -D "$DATA" --auth-local=peer --auth-host=scram-sha-256 >&2
    fi
    if ! runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        say "starting $DATA on port $PORT"
        runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w start \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -k /run/postgresql" >&2
    fi
fi

for _ in $(seq 1 30); do
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 1
done
"$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" >&2 || { say "server on 127.0.0.1:$PORT is not ready"; exit 1; }

# 3. role and database (psql variables keep the password out of the command line)
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -h /run/postgresql -d postgres \
    -v user="$DB_USER" -v db="$DB_NAME" -v pw="$PASSWORD" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user')
\gexec
ALTER ROLE :"user" WITH LOGIN PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')
\gexec
SQL

urlencode() {
    local s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [a-zA-Z0-9._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

say "ready: postgresql://$DB_USER:***@127.0.0.1:$PORT/$DB_NAME"
echo "export DSE_TEST_POSTGRES_URL=postgresql://$DB_USER:$(urlencode "$PASSWORD")@127.0.0.1:$PORT/$DB_NAME"
