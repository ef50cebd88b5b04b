# trustlab — two commands: `make up` runs the platform, `make test` runs the whole suite.
# Both bootstrap what they need (idempotent, cached under $(TRUSTLAB_CACHE)).

PYTHON ?= python3
export TRUSTLAB_CACHE ?= $(HOME)/.cache/trustlab
VENV := $(TRUSTLAB_CACHE)/envs/platform
BOOTSTRAP := $(PYTHON) scripts/bootstrap.py
TEST_PG_PORT ?= 55432
export TRUSTLAB_TEST_POSTGRES_URL ?= postgresql+psycopg://trustlab:trustlab@127.0.0.1:$(TEST_PG_PORT)/postgres
TEST_MARIADB_PORT ?= 53306
export TRUSTLAB_TEST_MARIADB_URL ?= mysql+pymysql://trustlab:trustlab@127.0.0.1:$(TEST_MARIADB_PORT)/mysql
TEST_REDIS_PORT ?= 56379
export TRUSTLAB_TEST_REDIS_URL ?= redis://127.0.0.1:$(TEST_REDIS_PORT)/0

# What the platform needs on this machine: environments, Java (Spark), a Docker engine,
# debootstrap (base image without a registry), configurable-http-proxy (JupyterHub),
# the Label Studio server's environment.
SERVICES := platform airflow labelstudio java docker debootstrap proxy swagger

.PHONY: up down test bootstrap images lint format lock clean-state bench-masking bench-spawn \
	bench-production bench-gateway bench-labeling

# Demo data, sample, accounts, images (built once, cached), then JupyterHub on :8000.
up: bootstrap
	$(VENV)/bin/trustlab up

down:
	$(VENV)/bin/trustlab hub stop
	$(VENV)/bin/trustlab airflow stop
	$(VENV)/bin/trustlab label server stop

test:
	$(BOOTSTRAP) $(SERVICES) postgres mariadb redis chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest tests --durations=25

bootstrap:
	$(BOOTSTRAP) $(SERVICES)

# The sandbox and runner images (no registry: Debian bootstrapped locally); cached by content.
images: bootstrap
	$(VENV)/bin/trustlab images build

lint: bootstrap
	$(VENV)/bin/ruff check .

format: bootstrap
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks (not part of `make test`): print comparison tables, see bench/README.md.
bench-masking:
	$(BOOTSTRAP) bench java
	$(TRUSTLAB_CACHE)/envs/bench/bin/python bench/masking.py $(BENCH_ARGS)

bench-spawn: bootstrap
	$(VENV)/bin/python bench/spawn.py $(BENCH_ARGS)

bench-production: bootstrap
	$(VENV)/bin/python bench/production.py $(BENCH_ARGS)

# trustlab's gateway against Datasette and a bare Starlette floor (wrk, loopback), and on PostgreSQL.
bench-gateway:
	$(BOOTSTRAP) bench swagger postgres wrk
	TRUSTLAB_BENCH_POSTGRES_URL=$(TRUSTLAB_TEST_POSTGRES_URL) \
		$(TRUSTLAB_CACHE)/envs/bench/bin/python bench/gateway.py $(BENCH_ARGS)

# trustlab's Label Studio imports and exports against plain label-studio-sdk calls.
bench-labeling: bootstrap
	$(VENV)/bin/python bench/labeling.py $(BENCH_ARGS)

# Re-resolve uv.lock after changing dependencies in pyproject.toml.
lock:
	$(BOOTSTRAP) uv
	$(TRUSTLAB_CACHE)/tools/bin/uv lock
	$(TRUSTLAB_CACHE)/tools/bin/uv pip compile envs/airflow.in --python-version 3.11 --quiet \
		--no-header -o envs/airflow.txt
	$(TRUSTLAB_CACHE)/tools/bin/uv pip compile envs/labelstudio.in --python-version 3.11 --quiet \
		--no-header -o envs/labelstudio.txt

clean-state:
	-$(VENV)/bin/trustlab hub stop
	-$(VENV)/bin/trustlab label server stop
	rm -rf var
