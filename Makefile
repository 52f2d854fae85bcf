# Two commands for a fresh clone: `make run` and `make test`. Everything else is set-up they share.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app web
VENDOR := web/static/vendor

.PHONY: run test test-fast slow-tests setup db demo vendor lint clean bench-irt bench-fit bench-assembly bench-exam bench-audit bench-export bench-reports bench-duplicates bench-certificates bench-results bench-scale demo-exam

# Plain http on the loopback: cookies without the Secure flag so every browser keeps them.
# Behind https in production, keep the default (Secure); see README.
run: setup db demo
	FLASK_SESSION_COOKIE_SECURE=false FLASK_REMEMBER_COOKIE_SECURE=false \
	  $(BIN)/python -m web.serve --port $(PORT)

# The suite in two passes, failing if either fails: everything but the browser journeys on
# TEST_WORKERS processes (pytest-xdist; each process has its own database and files, see
# tests/dbutil.py), then the journeys (tests/e2e, marked e2e) on one, since they start servers and
# browsers of their own, with the few tests marked serial (pytest-xdist cannot distribute them).
# Bytecode is written for test runs even where the environment turns it off (recompiling every
# module costs each process seconds).
TEST_WORKERS ?= auto
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest
PARALLEL := -n $(TEST_WORKERS) --dist loadfile

test: setup
	$(PYTEST) $(PARALLEL) -m "not e2e and not serial" $(PYTEST_ARGS); a=$$?; \
	$(PYTEST) -m "e2e or serial" $(PYTEST_ARGS); b=$$?; \
	if [ $$a -eq 5 ] && [ $$b -eq 5 ]; then exit 5; fi; \
	[ $$a -eq 0 -o $$a -eq 5 ] && [ $$b -eq 0 -o $$b -eq 5 ]

# A developer aid, not a third setup command: the suite without the slow numeric/property tests
# and the browser journeys, in parallel. `make test` always runs everything.
test-fast: setup
	$(PYTEST) $(PARALLEL) -m "not slow and not e2e and not serial" $(PYTEST_ARGS)

# Re-measure the fast suite and add the tests that took >= 0.15 s each to tests/slow_tests.txt
# (they are then marked slow; see tests/slowlist.py).
slow-tests: setup
	$(PYTEST) $(PARALLEL) -m "not slow and not e2e and not serial" --durations=0 --durations-min=0.05 -q \
	  -p no:randomly > .slow-tests.log || true
	$(BIN)/python -m tests.slowlist .slow-tests.log; rm -f .slow-tests.log

setup: $(VENV)/.installed vendor instance/config.py

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

vendor: node_modules/.installed
	mkdir -p $(VENDOR)
	cp node_modules/socket.io-client/dist/socket.io.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	mkdir -p $(VENDOR)/katex
	cp -r node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css node_modules/katex/dist/fonts \
	  node_modules/katex/dist/contrib/auto-render.min.js $(VENDOR)/katex/

# A random secret key for this machine; never committed (instance/ is git-ignored).
instance/config.py:
	mkdir -p instance
	$(PYTHON) -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@

db: setup
	$(FLASK) db upgrade

demo: db
	$(FLASK) seed reference
	$(FLASK) seed demo

# Benchmarks: results go to docs/benchmarks.md (see benchmarks/README.md). Not part of `make test`.
bench-irt: setup
	$(BIN)/python -m benchmarks.bench_irt

# Item fit (S-X2) with 2 % blanks: per blank pattern (old, kept in the module) vs imputed omissions.
bench-fit: setup
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks.bench_fit

bench-assembly: setup
	$(BIN)/python -m benchmarks.bench_assembly

# Full vs incremental audit verification on a 200,000-entry log (BENCH_ARGS="--entries 50000").
bench-audit: setup
	$(BIN)/python -m benchmarks.bench_audit $(BENCH_ARGS)

# Item Excel export, 2,000 and 20,000 rows: the streamed writer against the old in-memory one.
bench-export: setup
	$(BIN)/python -m benchmarks.bench_export

# Item reports: computing the matrix figures vs serving them from the store (10k and 50k × 100).
bench-reports: setup
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m benchmarks.bench_reports

# Near-duplicate search on banks of 1k/10k/100k items: band index vs the old full scan (BENCH_ARGS="--sizes 1000,10000").
bench-duplicates: setup
	$(BIN)/python -m benchmarks.bench_duplicates $(BENCH_ARGS)

# Issue 1,000 certificates with PDFs against a one-line page; /verify p99 under 100 clients (BENCH_ARGS="--count 200").
bench-certificates: setup
	$(BIN)/python -m benchmarks.bench_certificates $(BENCH_ARGS)
# Level decisions of 100,000 registrations from the database vs reading the same rows; SQLite, and
# PostgreSQL too when DATABASE_URL names one (its tables are dropped). BENCH_ARGS="--registrations 10000".
bench-results: setup
	$(BIN)/python -m benchmarks.bench_results $(BENCH_ARGS)

# Issue 16 acceptance: item page, editor save, 1,000-row import, export, pool + assembly at 1k/10k/100k
# items, and response-set import / calibration / report at 10k and 50k candidates (results in
# docs/benchmarks.md). BENCH_ARGS="--sizes 1000,10000 --candidates 10000" or "--db postgresql://…".
bench-scale: setup
	$(BIN)/python -m benchmarks.bench_scale $(BENCH_ARGS)

# Rooms of 30 simulated candidates against one server process (BENCH_ARGS="--count 300 --minutes 2").
bench-exam: setup
	$(BIN)/python -m benchmarks.bench_exam $(BENCH_ARGS)

# Live demo: with `make run` in another terminal, simulated candidates take the demo room's exam.
demo-exam: setup
	$(FLASK) exam demo-reset
	$(FLASK) exam simulate --room demo --url http://127.0.0.1:$(PORT) $(DEMO_ARGS)

# ruff on everything; mypy (strict) on the four cores, as configured in pyproject.toml.
lint: setup
	$(BIN)/ruff check foundation itembank examroom grading web tests benchmarks
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
