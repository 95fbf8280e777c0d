# EventLab: `make run` starts the app on the demo data, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
DB     ?= .eventlab/eventlab.duckdb

.PHONY: run test lint bench demo-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

$(DB): | $(VENV)/.run-installed
	$(BIN)/eventlab ingest data/demo --db $(DB)

run: $(VENV)/.run-installed $(DB)
	EVENTLAB_DB=$(DB) $(BIN)/python -m eventlab.ui.serve --server.address 127.0.0.1 \
		--server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/ingest_parquet.py
	$(BIN)/python bench/explore_query.py

demo-data: $(VENV)/.run-installed
	rm -rf data/demo
	$(BIN)/eventlab demo --out data/demo --events 50000 --seed 42

clean:
	rm -rf $(VENV) .eventlab
