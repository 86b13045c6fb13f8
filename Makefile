# survatlas — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SURVATLAS := $(VENV)/bin/survatlas
STAMP := $(VENV)/.installed
DEMO_DB ?= survatlas.db
FRONTEND := src/survatlas/web/frontend

.PHONY: demo test lint bench install kernels osmcore frontend chromium publishing clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) kernels osmcore

# The coverage kernels compiled ahead of time (numba.pycc → src/survatlas/coverage/_aot.*.so,
# git-ignored; ≈ 1 min, skipped while the build matches the kernel sources). Without it, or
# when it is stale, coverage runs the same kernels through numba's JIT.
kernels: $(STAMP)
	@command -v gcc >/dev/null 2>&1 && $(PY) -c "import sysconfig, pathlib, sys; \
	  sys.exit(not pathlib.Path(sysconfig.get_paths()['include'], 'Python.h').exists())" || { \
	  apt-get update -q && apt-get install -y -q gcc python3-dev; }
	$(PY) scripts/build_kernels.py
	@# the package's bytecode, as a wheel installs it (read even where PYTHONDONTWRITEBYTECODE is set)
	$(PY) -m compileall -q src/survatlas

# The compiled OSM read loop on libosmium (scripts/build_osmcore.py → src/survatlas/ingest/
# _osmcore.*.so, git-ignored; ≈ 1 min, skipped while the build matches its source). Without it,
# or when it is stale, `import osm` reads with pyosmium (the same rows, ≈ 2× slower).
OSMCORE_HEADERS := /usr/include/osmium/osm.hpp /usr/include/protozero/pbf_reader.hpp \
  /usr/include/zlib.h /usr/include/bzlib.h /usr/include/expat.h
osmcore: $(STAMP)
	@command -v g++ >/dev/null 2>&1 && ls $(OSMCORE_HEADERS) >/dev/null 2>&1 && \
	  $(PY) -c "import sysconfig, pathlib, sys; \
	  sys.exit(not pathlib.Path(sysconfig.get_paths()['include'], 'Python.h').exists())" || { \
	  apt-get update -q && apt-get install -y -q g++ python3-dev libosmium2-dev libprotozero-dev \
	    zlib1g-dev libbz2-dev libexpat1-dev; }
	$(PY) scripts/build_osmcore.py

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

demo: $(STAMP) kernels osmcore frontend
	$(SURVATLAS) --db $(DEMO_DB) import osm data/helsinki-center.osm.pbf
	$(SURVATLAS) --db $(DEMO_DB) stats
	$(SURVATLAS) --db $(DEMO_DB) coverage
	@echo "Open the map: $(SURVATLAS) --db $(DEMO_DB) serve   (then http://127.0.0.1:8000/)"

test: $(STAMP) kernels osmcore frontend chromium publishing
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/lint-imports

bench: $(STAMP) kernels osmcore  # every benchmark at its documented defaults (≈ 20 min on 2 cores)
	$(PY) benchmarks/visibility.py
	$(PY) benchmarks/coverage_e2e.py
	$(PY) benchmarks/routing.py
	$(PY) benchmarks/import_osm.py
	$(PY) benchmarks/import_memory.py
	$(PY) benchmarks/scale.py
	$(PY) benchmarks/web_load.py

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm src/survatlas/coverage/_aot.*.so \
	  src/survatlas/ingest/_osmcore.*.so
