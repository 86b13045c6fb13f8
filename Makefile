# survatlas — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SURVATLAS := $(VENV)/bin/survatlas
STAMP := $(VENV)/.installed
DEMO_DB ?= survatlas.db
FRONTEND := src/survatlas/web/frontend

.PHONY: demo test lint bench install frontend chromium publishing clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

frontend:
	@if [ -f $(FRONTEND)/package.json ]; then \
	  cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent; \
	fi

chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }

# PDF checks (pdfinfo, pdftotext, pdftoppm) and the Noto fonts of reports and of the map's labels
# (fonts-noto-cjk: Korean, Chinese and Japanese names); WeasyPrint's pango.
publishing:
	@command -v pdftotext >/dev/null 2>&1 && fc-list | grep -q NotoSans-Regular && fc-list | grep -q NotoSansCJK-Regular || { \
	  apt-get update -q && apt-get install -y -q poppler-utils fonts-noto-core fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0; }

demo: $(STAMP) frontend
	$(SURVATLAS) --db $(DEMO_DB) import osm data/helsinki-center.osm.pbf
	$(SURVATLAS) --db $(DEMO_DB) stats
	$(SURVATLAS) --db $(DEMO_DB) coverage
	@echo "Open the map: $(SURVATLAS) --db $(DEMO_DB) serve   (then http://127.0.0.1:8000/)"

test: $(STAMP) frontend chromium publishing
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/lint-imports

bench: $(STAMP)  # every benchmark at its documented defaults (≈ 20 min on 2 cores)
	$(PY) benchmarks/visibility.py
	$(PY) benchmarks/coverage_e2e.py
	$(PY) benchmarks/routing.py
	$(PY) benchmarks/import_osm.py
	$(PY) benchmarks/import_memory.py
	$(PY) benchmarks/scale.py
	$(PY) benchmarks/web_load.py

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
