# EventLab: `make run` starts the app on the demo data, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
DB     ?= .eventlab/eventlab.duckdb
# `make demo-kafka` has its own database, emptied on every start (the broker starts empty too):
# loading the topic into the Parquet demo's database would store every event twice.
KAFKA_DB ?= .eventlab/kafka.duckdb
AWS_DB   ?= .eventlab/aws.duckdb
AWS_PORT ?= 4566
# The Time travel page offers these reducers for the demo shop (rules first: the default).
EVENTLAB_RULES   ?= eventlab/demo/rules.toml
EVENTLAB_REDUCER ?= eventlab/demo/reducer.py
# The folders the Sources page's path field may read (default: data/ beside the database).
EVENTLAB_DATA_DIRS ?= data
KAFKA_PORT ?= 9092
# `make demo-rabbitmq`: its own node on these ports (not RabbitMQ's defaults, nor the tests'
# free ones) and its own database, emptied on every start like the Kafka demo's.
RABBITMQ_PORT ?= 5682
RABBITMQ_STREAM_PORT ?= 5562
RABBITMQ_DB ?= .eventlab/rabbitmq.duckdb
# `make test` runs pytest on this many workers (pytest-xdist). 3 on the 2-core CI machine: the tests
# wait on brokers, apps and browsers about half the time (1 core busy on average with 2 workers);
# measured on a fresh clone, 607 s with 2, 519 s with 3.
TEST_WORKERS ?= 3
KAFKA  := 127.0.0.1:$(KAFKA_PORT)


.PHONY: run test test-durations lint bench demo-data demo-kafka demo-rabbitmq demo-aws clean

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
	EVENTLAB_DB=$(DB) EVENTLAB_RULES=$(EVENTLAB_RULES) EVENTLAB_REDUCER=$(EVENTLAB_REDUCER) \
		EVENTLAB_DATA_DIRS=$(EVENTLAB_DATA_DIRS) $(BIN)/python -m eventlab.ui.serve --server.address 127.0.0.1 \
		--server.port $(PORT) --server.headless true --browser.gatherUsageStats false

# Kafka in one command: a local broker (Tansu, in memory, 127.0.0.1:$(KAFKA_PORT)), the demo shop
# produced to topic shop-events in the background (50,000 events at 500/s, so it runs for
# about 100 s; log in .eventlab/demo-producer.log), a slow consumer group shop-projector (100
# records/s: its lag grows while the shop produces; log in .eventlab/demo-consumer.log), and
# the app pointed at the broker, on its own empty database $(KAFKA_DB). Ctrl-C stops the app,
# the producer, the consumer and the broker.
demo-kafka: $(VENV)/.run-installed
	@mkdir -p .eventlab
	rm -f $(KAFKA_DB) $(KAFKA_DB).wal
	@$(BIN)/eventlab broker --stop --port $(KAFKA_PORT) >/dev/null 2>&1 || true
	$(BIN)/eventlab broker --port $(KAFKA_PORT) --detach
	@$(BIN)/eventlab demo --kafka $(KAFKA) --topic shop-events --events 50000 --rate 500 \
		--seed 42 > .eventlab/demo-producer.log 2>&1 & producer=$$!; \
	$(BIN)/eventlab demo-consumer --bootstrap $(KAFKA) --topic shop-events \
		--group shop-projector --rate 100 --wait 60 > .eventlab/demo-consumer.log 2>&1 & consumer=$$!; \
	trap 'kill $$producer $$consumer 2>/dev/null; $(BIN)/eventlab broker --stop --port $(KAFKA_PORT)' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "producing the demo shop to shop-events (pid $$producer, log .eventlab/demo-producer.log)"; \
	echo "consumer group shop-projector running (pid $$consumer, log .eventlab/demo-consumer.log)"; \
	EVENTLAB_KAFKA_BOOTSTRAP=$(KAFKA) EVENTLAB_DB=$(KAFKA_DB) $(BIN)/python -m eventlab.ui.serve \
		--server.address 127.0.0.1 --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# RabbitMQ in one command: a local node (`eventlab rabbitmq --detach`, 127.0.0.1:$(RABBITMQ_PORT),
# streams $(RABBITMQ_STREAM_PORT)); the demo shop published at 500/s through exchange shop to
# the stream shop-events, the classic queue shop-orders and the quorum queue shop-audit (both
# dead-letter into shop-dlq; log .eventlab/demo-rabbitmq-publisher.log); the named stream
# consumer shop-projector at 100/s (offset stored on the broker: its lag grows) and a worker on
# shop-orders that rejects the poison into shop-dlq (log .eventlab/demo-rabbitmq-consumer.log);
# the app on $(RABBITMQ_DB) with the EVENTLAB_RABBITMQ_* settings. Ctrl-C stops them all.
demo-rabbitmq: $(VENV)/.run-installed
	@mkdir -p .eventlab
	rm -f $(RABBITMQ_DB) $(RABBITMQ_DB).wal
	@$(BIN)/eventlab rabbitmq --stop --port $(RABBITMQ_PORT) >/dev/null 2>&1 || true
	$(BIN)/eventlab rabbitmq --port $(RABBITMQ_PORT) --stream-port $(RABBITMQ_STREAM_PORT) --detach
	@export EVENTLAB_RABBITMQ_PORT=$(RABBITMQ_PORT) EVENTLAB_RABBITMQ_STREAM_PORT=$(RABBITMQ_STREAM_PORT) \
		EVENTLAB_RABBITMQ_MANAGEMENT_PORT=$$($(BIN)/python -c "import json; print(json.load(open( \
		'.eventlab/rabbitmq-$(RABBITMQ_PORT).json'))['ports']['management'])"); \
	$(BIN)/eventlab demo-rabbitmq --events 50000 --rate 500 --seed 42 \
		> .eventlab/demo-rabbitmq-publisher.log 2>&1 & publisher=$$!; \
	$(BIN)/eventlab demo-rabbitmq-consumer --stream shop-events --name shop-projector --rate 100 \
		--queue shop-orders --wait 60 > .eventlab/demo-rabbitmq-consumer.log 2>&1 & consumer=$$!; \
	trap 'kill $$publisher $$consumer 2>/dev/null; wait $$publisher $$consumer 2>/dev/null; \
		$(BIN)/eventlab rabbitmq --stop --port $(RABBITMQ_PORT)' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "publishing the demo shop through exchange shop (pid $$publisher, log .eventlab/demo-rabbitmq-publisher.log)"; \
	echo "stream consumer shop-projector and the shop-orders worker running (pid $$consumer, log .eventlab/demo-rabbitmq-consumer.log)"; \
	EVENTLAB_DB=$(RABBITMQ_DB) EVENTLAB_RULES=$(EVENTLAB_RULES) EVENTLAB_REDUCER=$(EVENTLAB_REDUCER) \
		$(BIN)/python -m eventlab.ui.serve --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

# SNS/SQS in one command: moto's emulator on 127.0.0.1:$(AWS_PORT) (in memory), the demo shop on a
# FIFO topic with a slow projector queue (FIFO, its DLQ receiving the poison) and an audit queue,
# EventLab's tap, and the app on its own empty database $(AWS_DB). Ctrl-C stops all of it.
demo-aws: $(VENV)/.run-installed
	@mkdir -p .eventlab
	rm -f $(AWS_DB) $(AWS_DB).wal
	@$(BIN)/eventlab aws-local --stop --port $(AWS_PORT) >/dev/null 2>&1 || true
	$(BIN)/eventlab aws-local --port $(AWS_PORT) --detach
	@export EVENTLAB_AWS_ENDPOINT_URL=http://127.0.0.1:$(AWS_PORT) AWS_ACCESS_KEY_ID=testing \
		AWS_SECRET_ACCESS_KEY=testing; \
	$(BIN)/eventlab demo-aws --events 3000 --rate 20 --consumer-rate 8 \
		> .eventlab/demo-aws.log 2>&1 & shop=$$!; \
	trap 'kill $$shop 2>/dev/null; $(BIN)/eventlab aws-local --stop --port $(AWS_PORT)' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "the demo shop publishes to shop-events.fifo (pid $$shop, log .eventlab/demo-aws.log)"; \
	EVENTLAB_DB=$(AWS_DB) $(BIN)/python -m eventlab.ui.serve \
		--server.address 127.0.0.1 --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# The browser tests drive headless Chromium, so before pytest the lookup they use finds one, or
# installs it (Debian's chromium through apt-get, else Playwright's own download), or stops with
# one line saying what to install. After the dev requirements: its fallback runs Playwright.
# The RabbitMQ tests start Debian's rabbitmq-server (run directly, on loopback): installed
# through apt-get when missing (CI runs as root with apt).
test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/python tests/browser/chromium.py
	@test -x /usr/lib/rabbitmq/bin/rabbitmq-server || \
		(apt-get update -q && apt-get install -y -q --no-install-recommends rabbitmq-server) || \
		{ echo "the RabbitMQ tests need rabbitmq-server: apt-get install -y rabbitmq-server"; exit 1; }
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# The whole suite as `make test` runs it, writing each xdist group's seconds to
# tests/durations.json (the order `make test` hands groups to workers: longest first).
# Run it on a quiet machine after tests change much, and commit the file.
test-durations: $(VENV)/.dev-installed
	EVENTLAB_TEST_DURATIONS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup \
		--no-loadscope-reorder

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/ingest_parquet.py
	$(BIN)/python bench/explore_query.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/app_memory.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/flow.py
	$(BIN)/python bench/ingest_kafka.py
	$(BIN)/python bench/tail_poll.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/lag.py
	$(BIN)/python bench/ingest_rabbitmq.py

demo-data: $(VENV)/.run-installed
	rm -rf data/demo
	$(BIN)/eventlab demo --out data/demo --events 50000 --seed 42

clean:
	rm -rf $(VENV) .eventlab
