# The two README commands. Each creates the virtual environment it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean package-response

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/trailguard demo --out demo

test: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/trailguard lint
	$(VENV)/bin/trailguard coverage --check

# trailguard against the alternatives on one generated dataset (BENCH_EVENTS, default 2000000);
# prints a table and a last line of key=value figures. See benchmarks/bench.py.
bench: $(STAMP)
	$(PY) -m benchmarks.bench

clean:
	rm -rf $(VENV) demo .trailguard

# The automated-response Lambda bundle (dist/trailguard-response.zip), built offline from this venv.
package-response: $(STAMP)
	$(PY) scripts/package_response.py
