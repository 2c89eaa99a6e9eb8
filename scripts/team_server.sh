#!/usr/bin/env bash
# A team MLflow tracking server: PostgreSQL (Debian's `postgresql` package) as the backend store
# and proxied artifacts (`--serve-artifacts`), so clients and cluster nodes need only HTTP access
# to the server, no shared filesystem.
#
#   scripts/team_server.sh [--host HOST] [--port PORT] [--data DIR] [--pg-port N] [-- MLFLOW_ARGS]
#   make server HOST=0.0.0.0 PORT=5000 SERVER_DATA=/srv/arnews-server
#
# Everything lives under the data folder (default ./server-data):
#   postgres/     the PostgreSQL cluster (initdb on first start; listens on 127.0.0.1:PG_PORT only)
#   artifacts/    run artifacts and models (the server's --artifacts-destination)
#   logs/         postgres.log
#   pgpass        the password of the database user `mlflow` (made on first start, mode 600; libpq
#                 reads it through PGPASSFILE, so it never shows on a command line)
# The first start creates the cluster, the user and the database `mlflow`; later starts reuse
# them. The server runs in the foreground; Ctrl-C (or SIGTERM) stops it and the PostgreSQL it
# started. Clients: `export MLFLOW_TRACKING_URI=http://HOST:PORT` (or `tracking=server`).
# Run as root, PostgreSQL runs as the `postgres` user (it refuses root), so that user must be able
# to reach the data folder. Extra arguments after `--` go to `mlflow server` (for a server reached
# by a host name: `-- --allowed-hosts mlflow.example.org:5000`).
set -euo pipefail

HOST=127.0.0.1
PORT=5000
DATA=${ARNEWS_SERVER_DATA:-server-data}
PG_PORT=${ARNEWS_SERVER_PG_PORT:-5433}
WORKERS=${ARNEWS_SERVER_WORKERS:-4}
EXTRA=()

die() {
    echo "error: $*" >&2
    exit 2
}

while (($#)); do
    case "$1" in
    --host) HOST=${2:?--host needs a value}; shift 2 ;;
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --data) DATA=${2:?--data needs a folder}; shift 2 ;;
    --pg-port) PG_PORT=${2:?--pg-port needs a value}; shift 2 ;;
    --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see $0 --help)" ;;
    esac
done

# --- programs: PostgreSQL's server binaries and an mlflow with the PostgreSQL driver ----------
find_pg_bin() {
    if [[ -n ${PG_BIN:-} ]]; then
        echo "$PG_BIN"
        return
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n $dir && -x $dir/initdb ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null; then
        dirname "$(command -v initdb)"
    fi
}
PG_BIN=$(find_pg_bin)
[[ -n $PG_BIN && -x $PG_BIN/pg_ctl ]] ||
    die "PostgreSQL's server programs (initdb, pg_ctl) were not found: install them with 'apt-get install postgresql' (or set PG_BIN to their folder)."

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n ${MLFLOW:-} ]]; then
    :
elif [[ -x $ROOT/.venv/bin/mlflow ]]; then
    MLFLOW=$ROOT/.venv/bin/mlflow
else
    MLFLOW=$(command -v mlflow || true)
fi
[[ -n $MLFLOW ]] || die "mlflow was not found: run 'make install' (or pip install 'arnews-ml[server]')."
PYTHON=$(dirname "$MLFLOW")/python
[[ -x $PYTHON ]] || PYTHON=python3
"$PYTHON" -c "import psycopg2" 2>/dev/null ||
    die "the PostgreSQL driver psycopg2 is missing beside $MLFLOW: pip install 'arnews-ml[server]' (psycopg2-binary)."

# --- the data folder -------------------------------------------------------------------------
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
PGDATA=$DATA/postgres
LOGS=$DATA/logs
ARTIFACTS=$DATA/artifacts
mkdir -p "$LOGS" "$ARTIFACTS"

# PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
AS_PG=()
if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run PostgreSQL as (apt-get install postgresql creates it)."
    AS_PG=(runuser -u postgres --)
    mkdir -p "$PGDATA"
    chown postgres: "$PGDATA" "$LOGS"
    chmod 700 "$PGDATA"
    "${AS_PG[@]}" test -w "$PGDATA" ||
        die "the postgres user cannot reach $PGDATA (a folder above it is closed to other users); choose --data (SERVER_DATA=) in a folder it can reach, e.g. /srv/arnews-server."
fi
pg() { "${AS_PG[@]}" "$PG_BIN/$1" "${@:2}"; }

if [[ ! -f $PGDATA/PG_VERSION ]]; then
    echo "==> creating the PostgreSQL cluster in $PGDATA"
    # Local (socket) connections: only the owner of the data folder, which holds the socket;
    # TCP connections need a password.
    pg initdb -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" ||
        die "initdb failed; see $LOGS/initdb.log"
fi

STARTED_PG=0
if ! pg pg_ctl -D "$PGDATA" status >/dev/null 2>&1; then
    echo "==> starting PostgreSQL on 127.0.0.1:$PG_PORT"
    pg pg_ctl -D "$PGDATA" -l "$LOGS/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -k '$PGDATA' -c listen_addresses=127.0.0.1" start >/dev/null ||
        die "PostgreSQL did not start; see $LOGS/postgres.log (is port $PG_PORT taken? use --pg-port)"
    STARTED_PG=1
fi
stop_pg() {
    if ((STARTED_PG)); then
        echo "==> stopping PostgreSQL"
        pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null || true
        STARTED_PG=0
    fi
}
trap stop_pg EXIT

# SQL on standard input, so the password set below never shows on a command line
psql_admin() { pg psql -h "$PGDATA" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA <<<"$1"; }

# libpq's password file (host:port:database:user:password), read by the server through PGPASSFILE
PASSWORD_FILE=$DATA/pgpass
if [[ ! -s $PASSWORD_FILE ]]; then
    secret=$("$PYTHON" -c "import secrets; print(secrets.token_hex(16))")
    (umask 077 && echo "127.0.0.1:*:mlflow:mlflow:$secret" >"$PASSWORD_FILE")
fi
PASSWORD=$(cut -d: -f5 "$PASSWORD_FILE")
export PGPASSFILE=$PASSWORD_FILE
if [[ -z $(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'mlflow'") ]]; then
    echo "==> creating the database user mlflow and the database mlflow"
    psql_admin "CREATE ROLE mlflow LOGIN PASSWORD '$PASSWORD'"
else
    psql_admin "ALTER ROLE mlflow PASSWORD '$PASSWORD'" # the file is the truth
fi
if [[ -z $(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'mlflow'") ]]; then
    psql_admin "CREATE DATABASE mlflow OWNER mlflow"
fi

# --- the MLflow server -----------------------------------------------------------------------
echo "==> MLflow server on http://$HOST:$PORT (backend PostgreSQL 127.0.0.1:$PG_PORT/mlflow, artifacts in $ARTIFACTS)"
echo "    clients: export MLFLOW_TRACKING_URI=http://$HOST:$PORT   (Ctrl-C stops the server)"
# MLflow 3's server also starts job-execution workers (huey consumers, for GenAI evaluation jobs):
# seven busy processes arnews does not use. Off unless asked for.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}
# Not exec'd: when it ends, the trap stops the PostgreSQL this script started. uvicorn restarts a
# worker that does not answer its health check within 5 s by default, which on a busy machine
# (a worker still importing MLflow) loops for minutes: give workers 60 s.
"$MLFLOW" server \
    --backend-store-uri "postgresql+psycopg2://mlflow@127.0.0.1:$PG_PORT/mlflow" \
    --serve-artifacts --artifacts-destination "$ARTIFACTS" \
    --host "$HOST" --port "$PORT" --workers "$WORKERS" \
    --uvicorn-opts "--timeout-worker-healthcheck 60" "${EXTRA[@]}" &
SERVER=$!
trap 'kill -TERM "$SERVER" 2>/dev/null || true' INT TERM
status=0
wait "$SERVER" || status=$?
# a signal interrupts the first wait: wait again for the server to finish shutting down
if kill -0 "$SERVER" 2>/dev/null; then wait "$SERVER" || status=$?; fi
exit "$status"
