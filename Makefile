# Every target installs what it needs on first use: `make demo` and `make test` work as the
# very first command on a fresh machine. The venv is rebuilt when pyproject.toml or
# constraints.txt change (the stamp file is older than them).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check -c constraints.txt
# Numba (pulled in by UMAP) caches compiled code here instead of in site-packages.
export NUMBA_CACHE_DIR := $(CURDIR)/.cache/numba
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# pip warns once per package about index folders this machine's pip.conf names but lacks.
QUIET_PIP := { grep -v "is ignored: it is neither" || true; }

.DEFAULT_GOAL := help
.PHONY: help install demo test test-all test-slow lint format ui serve server screenshots benchmark clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@echo "==> creating $(VENV) and installing arnews_ml[all,dev] (first run only, a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip 2>&1 | $(QUIET_PIP)
	@$(BIN)/python -m pip install $(PIP_FLAGS) torch==2.13.0 2>&1 | $(QUIET_PIP)
	@$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[all,dev]' 2>&1 | $(QUIET_PIP)
	@$(BIN)/python -c "import arnews_ml, torch, bertopic, mlflow, sklearn, optuna, psycopg2, pyspark, hypothesis, gensim, hydra_plugins.hydra_optuna_sweeper, hydra_plugins.hydra_joblib_launcher, hydra_plugins.hydra_submitit_launcher; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with every extra (sweep, server, slurm, spark) and dev tools

demo: $(STAMP) ## The main job: experiment on the bundled sample corpus, logged to ./mlflow.db
	$(BIN)/python -m arnews_ml.demo

test: $(STAMP) ## The test suite (fast tests; slow ones with `make test-all`)
	$(BIN)/python -m pytest -m "not slow" -q

test-slow: $(STAMP) ## Only the slow tests (UMAP/HDBSCAN, model serving)
	$(BIN)/python -m pytest -m slow -q

test-all: $(STAMP) ## Every test, slow ones included (what CI runs)
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# `make ui PORT=5001 HOST=0.0.0.0`, `make serve MODEL=models:/arnews-classifier/3 PORT=5002`.
# PORT defaults to 5000 for the UI and 5001 for serve, so both can run at once.
HOST ?= 127.0.0.1
PORT ?= 5000
SERVE_PORT := $(if $(filter file,$(origin PORT)),5001,$(PORT))
MODEL ?= models:/arnews-classifier@champion
MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

ui: $(STAMP) ## Open the MLflow UI on ./mlflow.db (http://127.0.0.1:5000; PORT=, HOST=)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host $(HOST) --port $(PORT)

# `mlflow models serve` execs `uvicorn` from PATH, so the venv's bin folder goes first.
serve: $(STAMP) ## Serve a model over HTTP (MODEL=models:/arnews-classifier@champion, PORT=5001, HOST=)
	PATH="$(CURDIR)/$(BIN):$$PATH" MLFLOW_TRACKING_URI='$(MLFLOW_TRACKING_URI)' \
		$(BIN)/mlflow models serve -m '$(MODEL)' --env-manager local -p $(SERVE_PORT) -h $(HOST)

# `make server HOST=0.0.0.0 PORT=5000 SERVER_DATA=/srv/arnews-server`: a team tracking server
# (scripts/team_server.sh): PostgreSQL (Debian's `postgresql` package) as the backend store and
# proxied artifacts, all kept in SERVER_DATA (postgres/, artifacts/, logs/, pgpass). Clients set
# MLFLOW_TRACKING_URI=http://HOST:PORT (or run with tracking=server). SERVER_ARGS go to
# `mlflow server`, e.g. SERVER_ARGS="--allowed-hosts mlflow.example.org:5000".
SERVER_DATA ?= $(CURDIR)/server-data
SERVER_ARGS ?=

server: $(STAMP) ## Team MLflow server on PostgreSQL, data in SERVER_DATA=./server-data (HOST=, PORT=5000)
	bash scripts/team_server.sh --host '$(HOST)' --port '$(PORT)' --data '$(SERVER_DATA)' \
		$(if $(SERVER_ARGS),-- $(SERVER_ARGS))

screenshots: $(STAMP) ## Regenerate docs/img/*.png (MLflow UI, headless chromium; ARGS=--build for a demo store)
	bash docs/screenshots.sh $(ARGS)

benchmark: $(STAMP) ## Benchmarks on ../shared/data (quality, speed, memory; ~30 min)
	$(BIN)/python benchmarks/classification.py
	$(BIN)/python benchmarks/topics.py

clean: ## Remove caches and local run outputs (keeps .venv)
	rm -rf .pytest_cache .ruff_cache outputs multirun .cache build dist src/*.egg-info
