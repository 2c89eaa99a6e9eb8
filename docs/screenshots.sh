#!/usr/bin/env bash
# Regenerate the README's MLflow UI screenshots (docs/img/*.png) with headless Chromium:
#   runs-sweep.png     the experiment's runs table, the newest sweep parent expanded
#   compare-runs.png   the compare view of the sweep's child runs
#   run-page.png       a finished child run's page (metrics, params, datasets)
#   run-artifacts.png  its artifacts tab with a plot open
#
#   bash docs/screenshots.sh                    # the store ./mlflow.db
#   bash docs/screenshots.sh --build            # a fresh demo sweep (svm, logreg, sgd) in a temp folder
#   bash docs/screenshots.sh --store sqlite:////abs/path/mlflow.db --out /tmp/img
#
# Needs Debian's chromium and an Arabic font: apt-get install chromium fonts-noto-core
# (or CHROMIUM=/path/to/chrome). The MLflow UI runs on a free 127.0.0.1 port and is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
STORE="sqlite:///$ROOT/mlflow.db"
OUT="$ROOT/docs/img"
EXPERIMENT="arnews-classifier"
BUILD=0
KEEP=0

usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }
say() { echo "screenshots: $*" >&2; }
die() { say "error: $*"; exit 1; }

while (($#)); do
    case "$1" in
        --build) BUILD=1 ;;
        --store) STORE="${2:?--store needs a tracking URI}"; shift ;;
        --store=*) STORE="${1#*=}" ;;
        --out) OUT="${2:?--out needs a folder}"; shift ;;
        --out=*) OUT="${1#*=}" ;;
        --experiment) EXPERIMENT="${2:?--experiment needs a name}"; shift ;;
        --keep) KEEP=1 ;;  # keep the temp folder (demo store, server log)
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done

[[ -x "$PY" ]] || die "no virtualenv at $ROOT/.venv: run 'make install' first"

CHROMIUM="${CHROMIUM:-}"
if [[ -z "$CHROMIUM" ]]; then
    for candidate in chromium chromium-browser google-chrome-stable google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then
            CHROMIUM="$(command -v "$candidate")"
            break
        fi
    done
fi
if [[ -z "$CHROMIUM" ]] || ! command -v "$CHROMIUM" >/dev/null 2>&1; then
    die "chromium not found${CHROMIUM:+ at $CHROMIUM}. On Debian/Ubuntu: sudo apt-get install chromium fonts-noto-core (or set CHROMIUM=/path/to/chrome)"
fi
if command -v fc-list >/dev/null 2>&1 && [[ -z "$(fc-list :lang=ar 2>/dev/null)" ]]; then
    say "warning: no Arabic font installed; Arabic text will show as boxes (apt-get install fonts-noto-core)"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/arnews-screenshots.XXXXXX")"
UI_PID=""
running() {  # a live process, not a zombie waiting to be reaped
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ "$state" != Z* ]]
}
cleanup() {
    local status=$?
    if [[ -n "$UI_PID" ]] && kill -0 "$UI_PID" 2>/dev/null; then
        # the server runs in its own process group (set -m below): stop it and its workers
        kill -TERM -- "-$UI_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            running "$UI_PID" || break
            sleep 0.2
        done
        kill -KILL -- "-$UI_PID" 2>/dev/null || true
        wait "$UI_PID" 2>/dev/null || true
    fi
    if ((KEEP)); then say "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ((BUILD)); then
    STORE="sqlite:///$TMP/mlflow.db"
    say "building a demo sweep in $TMP (about a minute)"
    if ! MLFLOW_TRACKING_URI="$STORE" "$ROOT/.venv/bin/arnews-train" -m classifier=svm,logreg,sgd \
        "paths.cache_dir=$TMP/cache" "hydra.sweep.dir=$TMP/multirun" n_jobs=1 >"$TMP/build.log" 2>&1; then
        tail -n 30 "$TMP/build.log" >&2
        die "the demo sweep failed (log above)"
    fi
fi

if [[ "$STORE" == sqlite:///* ]]; then
    db="${STORE#sqlite:///}"
    db="${db%%\?*}"
    [[ -f "$db" ]] || die "no tracking store at $db: train something first, or use --build"
fi

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
say "starting the MLflow UI on $URL for $STORE"
set -m  # its own process group, so cleanup stops the server's workers too
MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
    "$ROOT/.venv/bin/mlflow" ui --backend-store-uri "$STORE" --host 127.0.0.1 --port "$PORT" \
    >"$TMP/ui.log" 2>&1 &
UI_PID=$!
set +m

ready=0
for _ in $(seq 1 180); do  # up to 90 s
    running "$UI_PID" || break
    if "$PY" -c "import urllib.request as u; u.urlopen('$URL/health', timeout=2)" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.5
done
if ((!ready)); then
    tail -n 30 "$TMP/ui.log" >&2
    die "the MLflow UI did not start on $URL (log above)"
fi

mkdir -p "$OUT"
"$PY" "$ROOT/docs/screenshots.py" --url "$URL" --out "$OUT" --experiment "$EXPERIMENT" \
    --chromium "$CHROMIUM"
say "done: $(cd "$OUT" && ls -1 runs-sweep.png compare-runs.png run-page.png run-artifacts.png | tr '\n' ' ')"
