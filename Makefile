# The two README commands. Each creates the virtual environment it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint lock bench clean package package-response

UV_VERSION := 0.13.9

# The environment installs exact, hash-checked versions from requirements.lock, then the project
# itself without touching them; the lock is refreshed only by `make lock` (see docs/development.md).
$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh the lock from pyproject.toml's ranges (and requirements/constraints.txt), then reinstall.
# Upgrading is deliberate: `make lock && make test`, and commit both when the suite passes.
lock:
	test -x $(VENV)/bin/uv || { python3 -m venv $(VENV) && $(PY) -m pip install --quiet uv==$(UV_VERSION); }
	$(VENV)/bin/uv pip compile pyproject.toml requirements/lock.in --extra test \
		-c requirements/constraints.txt --generate-hashes --universal --python-version 3.11 \
		--upgrade --quiet -o requirements.lock
	rm -f $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/trailguard demo --out demo

test: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests
	$(PY) -m pytest

# Everything but the tests marked slow (pyproject.toml): for the edit-test loop; `make test` before a commit.
test-fast: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests
	$(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/trailguard lint
	$(VENV)/bin/trailguard coverage --check

# trailguard against the alternatives on one generated dataset (BENCH_EVENTS, default 2000000);
# prints a table and a last line of key=value figures. See benchmarks/bench.py.
bench: $(STAMP)
	$(PY) -m benchmarks.bench

clean:
	rm -rf $(VENV) demo demo.public-keys.json .trailguard

# Both Lambda bundles (dist/trailguard-runner.zip, dist/trailguard-response.zip), built offline
# from this venv and byte-for-byte reproducible (see scripts/package_lambda.py); Terraform deploys
# them. PACKAGE_ARGS=--no-deps leaves the dependencies to a layer.
package: $(STAMP)
	$(PY) scripts/package_lambda.py $(PACKAGE_ARGS)

# Old name, same target.
package-response: package
