# keyaudit developer entry points. Every target creates .venv itself; only python3 (>= 3.11) is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: demo test lint format bench docs clean samples

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per extra, rebuilt when pyproject.toml changes.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/keyaudit demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check scanner providers rules tests benchmarks samples
	$(BIN)/ruff format --check scanner providers rules tests benchmarks samples
	$(BIN)/mypy

# The HTML report's browser test needs Debian's chromium + chromedriver, the syslog delivery tests Debian's
# rsyslog, the state-store tests Debian's postgresql (a throwaway cluster on 127.0.0.1), the metrics test
# Debian's prometheus-node-exporter: installed here when absent.
test: lint
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-rsyslog.sh
	bash scripts/ensure-postgresql.sh
	bash scripts/ensure-node-exporter.sh
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix scanner providers rules tests benchmarks samples
	$(BIN)/ruff format scanner providers rules tests benchmarks samples

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/aws_scan.py --keys 1000
	$(BIN)/python benchmarks/gcp_scan.py --projects 50 --keys 2000
	$(BIN)/python benchmarks/azure_scan.py --vaults 20 --keys 100
	$(BIN)/python benchmarks/state_bench.py
	$(BIN)/python benchmarks/aws_org_scale.py   # 200 accounts: ~11 min on 2 cores

# Regenerate docs/rules.md (the rule catalogue page) from the rules' metadata; a test checks it is current.
docs: $(VENV)/.test-installed
	$(BIN)/python -m scanner.catalogue docs/rules.md

# Regenerate the sample inventory and the report it produces, and the copies the demo ships.
samples: $(VENV)/.test-installed
	$(BIN)/python samples/build_sample_inventory.py --out samples/inventory-multicloud.json
	cp samples/inventory-multicloud.json scanner/data/sample-inventory.json
	cp samples/cek-policy.yaml scanner/data/sample-policy.yaml
	$(BIN)/python -m providers.gcp.simulated --write-demo
	$(BIN)/python -m providers.azure.simulated --write-demo
	$(BIN)/keyaudit evaluate samples/inventory-multicloud.json --policy samples/cek-policy.yaml \
		--as-of 2026-11-22 --format json -o samples/report.json --fail-on none --quiet
	$(BIN)/keyaudit evaluate samples/inventory-multicloud.json --policy samples/cek-policy.yaml \
		--as-of 2026-11-22 --format table -o samples/report.txt --fail-on none --quiet

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
