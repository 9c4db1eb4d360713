# Developer / CI entry points for the scoring project.
#
#   make venv        create .venv (python3 -m venv), install exactly the versions pinned in
#                    requirements.lock (with their hashes), then the package itself (-e .), and
#                    register the "Python (scoring)" Jupyter kernel inside the venv
#   make lock        re-compile requirements.lock from pyproject.toml with uv (LOCK_ARGS=--upgrade
#                    to take the newest releases, LOCK_ARGS="--upgrade-package pandas" for one)
#   make check       ruff (lint and format) and mypy; `make test` runs it before the tests
#   make demo        run the end-to-end demo: python -m scoring demo --data demo_data --out runs
#   make test        pytest (tests/) and, when notebooks/*.ipynb exist, pytest --nbval-lax notebooks/
#   make explore     open notebooks/explore.ipynb for the demo data as a web page (Voila)
#   make workbench   open the officer's workbench (notebooks/workbench.ipynb) as a web page (Voila):
#                    template, upload and check, run, review and approve, the unit's batch
#   make bench       run benchmarks/bench_engine.py (bench-workbook, bench-batch: the others)
#   make notebooks   re-execute notebooks/*.ipynb on the demo and keep only nbval-checked outputs
#   make fonts       make sure a CJK font (Noto Sans CJK) is present for Chinese chart text
#   make office      make sure LibreOffice Calc, Gnumeric and pdftoppm are present (recompute, 公示.pdf)
#   make browser     make sure Debian's chromium is present (the explorer's browser test)
#   make clean-venv  delete .venv
#
# Choose the interpreter with e.g. `make venv PYTHON=python3.12` (run `make clean-venv` first
# if .venv already exists). Everything is incremental: a second `make test` does not reinstall;
# editing pyproject.toml re-installs the package; a changed requirements.lock rebuilds .venv from
# scratch, so that it holds exactly the locked packages and nothing else.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
# The lock is universal (any platform) but resolved for the oldest Python the project supports,
# with one version of each package wherever possible.
LOCK_ARGS ?=
UV_COMPILE := pip compile pyproject.toml --extra test --generate-hashes --universal --fork-strategy fewest \
              --python-version 3.11 --custom-compile-command "make lock" --quiet
KERNEL := $(VENV)/share/jupyter/kernels/scoring/kernel.json

# Extra arguments for the main pytest run, e.g. `make test PYTEST_ARGS="-k engine -x"`.
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help venv lock check demo test bench bench-workbook bench-batch fonts office browser explore workbench notebooks clean-venv

help:
	@echo "targets: venv lock check demo test workbench explore bench fonts office browser notebooks clean-venv  (PYTHON=$(PYTHON))"

venv: $(KERNEL)

# The interpreter is an order-only prerequisite: .venv/bin/python is a symlink whose mtime
# is the base interpreter's, so it must not be compared against the stamp.
$(VPY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: '$(PYTHON)' not found; set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  echo "error: '$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2; \
	  exit 1; }

# The stamp gets the time the install *started*, so a file edited during a long install is still
# newer than the stamp and triggers another install next time. Every package comes from the lock,
# hash-checked, with --no-deps: nothing unpinned can slip in. pip cannot remove what a lock no
# longer lists, so a changed lock starts again from an empty venv.
$(STAMP): $(LOCK) pyproject.toml | $(VPY)
	@if [ -e $@ ] && [ $(LOCK) -nt $@ ]; then \
	  echo "$(LOCK) changed: rebuilding $(VENV) from scratch"; \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	fi
	@touch $@.tmp
	$(VPY) -m pip install --require-hashes --no-deps -r $(LOCK)
	$(VPY) -m pip install --no-deps -e .
	@mv -f $@.tmp $@

lock: $(STAMP)
	$(VPY) -m uv $(UV_COMPILE) $(LOCK_ARGS) -o $(LOCK)

# The house's own checks: lint and format (ruff, over the package, tests, benchmarks and
# notebooks) and types (mypy, strict; the files are listed in pyproject.toml).
check: venv
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VPY) -m mypy

$(KERNEL): $(STAMP)
	$(VPY) -m ipykernel install --sys-prefix --name scoring --display-name "Python (scoring)"
	@test -f $@

# Chinese chart labels need a CJK font. Install Debian's fonts-noto-cjk when it is missing and
# we can (root + apt-get); otherwise warn and carry on. After an install, matplotlib's font
# cache is dropped so the new font is picked up.
fonts:
	@if command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "warning: Noto Sans CJK font not found and cannot install it (need root + apt-get);" \
	       "Chinese chart text may render as boxes. Install fonts-noto-cjk manually." >&2; \
	else \
	  echo "Installing fonts-noto-cjk (apt-get) ..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  if apt-get update -qq && \
	     apt-get install -y -qq --no-install-recommends fontconfig fonts-noto-cjk >/dev/null; then \
	    fc-cache -f >/dev/null 2>&1 || true; \
	    mplcache="$${MPLCONFIGDIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/matplotlib}"; \
	    rm -f "$$mplcache"/fontlist-*.json; \
	  else \
	    echo "warning: apt-get install fonts-noto-cjk failed; Chinese chart text may render as boxes." >&2; \
	  fi; \
	fi

# Recomputing workbooks and printing 公示.pdf need LibreOffice Calc; Gnumeric's ssconvert is the
# second, independent engine that recomputes every workbook; python3-uno lets a batch's warm
# kernels keep one LibreOffice running; pdftoppm (poppler-utils) renders a PDF page for the
# tests. Installed from Debian when missing and we are root.
OFFICE_PACKAGES := libreoffice-calc python3-uno poppler-utils gnumeric
office:
	@if command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 && command -v ssconvert >/dev/null 2>&1 \
	    && [ -e /usr/lib/python3/dist-packages/uno.py ]; then \
	  :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "warning: LibreOffice (soffice), its UNO bridge, Gnumeric (ssconvert) or pdftoppm missing and cannot install them" \
	       "(need root + apt-get); workbook recompute and PDF tests will be skipped. Install $(OFFICE_PACKAGES)." >&2; \
	else \
	  echo "Installing $(OFFICE_PACKAGES) (apt-get) ..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $(OFFICE_PACKAGES) >/dev/null \
	    || echo "warning: apt-get install $(OFFICE_PACKAGES) failed" >&2; \
	fi

# The explorer is tested in a real headless browser: Debian's chromium, driven by Playwright.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
	  :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "warning: chromium missing and cannot install it (need root + apt-get); the browser test will be skipped." >&2; \
	else \
	  echo "Installing chromium (apt-get) ..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	    || echo "warning: apt-get install chromium failed" >&2; \
	fi

# Opens the explorer for the demo data as a web page (Voila) at http://127.0.0.1:8866/, with a page
# template that loads nothing from the network (the explorer works offline)
explore: venv fonts
	$(VPY) -m scoring.views.explorer notebooks/explore.ipynb --port 8866

# The officer's workbench at http://127.0.0.1:8867/ (Voila, the explorer's offline template): the
# page's folders are demo_data/ (the unit's workbooks), uploads/ and runs/; with no workbook in
# demo_data/ yet, the demo county's workbooks are written there first (not scored: the page does that)
workbench: venv fonts office
	@ls demo_data/*.xlsx >/dev/null 2>&1 || $(VPY) -c "from scoring.inputs.demo import generate_demo; generate_demo('demo_data')"
	$(VPY) -m scoring.views.workbench notebooks/workbench.ipynb --port 8867

demo: venv fonts office
	$(VPY) -m scoring demo --data demo_data --out runs

# The checks run first and stop it when they fail; then both suites always run; the exit status
# is the main pytest's if it failed (including 5 = no tests collected), otherwise the nbval run's.
test: venv fonts office browser check
	@rc=0; \
	MPLBACKEND=Agg $(VPY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  nb=0; MPLBACKEND=Agg $(VPY) -m pytest --nbval-lax notebooks/ || nb=$$?; \
	  if [ $$rc -eq 0 ]; then rc=$$nb; fi; \
	else \
	  echo "no notebooks/*.ipynb: skipping nbval"; \
	fi; \
	exit $$rc

bench: venv
	$(VPY) benchmarks/bench_engine.py

bench-workbook: venv office
	$(VPY) benchmarks/bench_workbook.py

bench-batch: venv fonts office
	$(VPY) benchmarks/bench_batch.py

notebooks: venv fonts
	MPLBACKEND=Agg $(VPY) -m scoring.views.nbtools notebooks/*.ipynb

clean-venv:
	rm -rf $(VENV)
