# nbgraph developer entry points (GNU make).
#
#   make test    create .venv, install '.[test]' (+ Debian chromium when root), run pytest
#   make lab     create .venv, install '.[lab]', trust the shipped lessons, start JupyterLab on lesson 01
#   make bench   install '.[bench]' and run every benchmarks/bench_*.py
#   make clean   remove .venv, caches and test artifacts
#
# Variables you may override on the command line:
#   PYTHON=python3         interpreter the venv is created from
#   PYTEST_ARGS=...        extra pytest arguments, e.g. PYTEST_ARGS='tests/browser -x'
#   CHROMIUM=/usr/bin/chromium
#   LAB_PORT=8888 LAB_IP=127.0.0.1 LAB_ARGS=...   for make lab

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

PYTHON   ?= python3
VENV     ?= .venv
VPY      := $(VENV)/bin/python
VBIN     := $(abspath $(VENV))/bin
CHROMIUM ?= /usr/bin/chromium
# A font Chromium can draw text with; without one, screenshots show empty boxes.
FONT     ?= /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
LAB_NOTEBOOK ?= notebooks/01_computational_graphs.ipynb
LAB_IP   ?= 127.0.0.1
LAB_PORT ?= 8888
SANITIZE := tests/nbval_sanitize.cfg

NBVAL_ARGS := --nbval-lax --nbval-current-env
ifneq ($(wildcard $(SANITIZE)),)
NBVAL_ARGS += --nbval-sanitize-with $(SANITIZE)
endif

# Stamps live inside the venv, so removing .venv also forgets what was installed.
VENV_CFG := $(VENV)/pyvenv.cfg
STAMP_TEST  := $(VENV)/.installed-test
STAMP_LAB   := $(VENV)/.installed-lab
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: test lab bench clean venv browser-deps

venv: $(VENV_CFG)

$(VENV_CFG):
	$(PYTHON) -m venv $(VENV)
	@echo "created $(VENV) from $$($(VPY) -c 'import sys; print(sys.version.split()[0], sys.base_prefix)')"

$(STAMP_TEST): pyproject.toml $(VENV_CFG)
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

$(STAMP_LAB): pyproject.toml $(VENV_CFG)
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[lab]'
	@touch $@

$(STAMP_BENCH): pyproject.toml $(VENV_CFG)
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[bench]'
	@touch $@

# Debian's chromium for the real-browser tests (Playwright's own browser
# download cannot be used here). Installed only when missing and we are root;
# otherwise say loudly that the browser tests will be skipped.
browser-deps:
	@need=""; \
	[ -x "$(CHROMIUM)" ] || need="$$need chromium"; \
	[ -e "$(FONT)" ] || need="$$need fonts-dejavu-core"; \
	if [ -z "$$need" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$need"; \
		apt-get update -q; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$need; \
	else \
		echo "########################################################################"; \
		echo "## WARNING: missing$$need and not root (or no apt-get):"; \
		echo "##   the real-browser tests in tests/browser/ will be SKIPPED."; \
		echo "##   Fix: sudo apt-get install chromium fonts-dejavu-core"; \
		echo "##   (with CI set in the environment they FAIL instead of skipping)"; \
		echo "########################################################################"; \
	fi

test: $(STAMP_TEST) browser-deps
	@rc=0; PATH="$(VBIN):$$PATH" NBGRAPH_CHROMIUM="$(CHROMIUM)" $(VPY) -m pytest $(NBVAL_ARGS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected NO tests (exit 5) - treating as failure"; fi; \
	exit $$rc

lab: $(STAMP_LAB)
	@nb="$(LAB_NOTEBOOK)"; mkdir -p notebooks; \
	if [ -e "$$nb" ]; then path="$${nb#notebooks/}"; \
	else echo "note: $$nb does not exist yet; opening the notebooks/ folder"; path=""; fi; \
	token="$$($(VPY) -c 'import secrets; print(secrets.token_hex(24))')"; \
	echo "trusting the shipped lessons (their drawings step before any cell runs)"; \
	$(VPY) -m nbformat.sign notebooks/*.ipynb >/dev/null; \
	root=""; if [ "$$(id -u)" = 0 ]; then root="--allow-root"; fi; \
	echo "================================================================"; \
	echo " JupyterLab (Ctrl-C to stop) - open:"; \
	echo "   http://$(LAB_IP):$(LAB_PORT)/lab/tree/$$path?token=$$token"; \
	echo "================================================================"; \
	PATH="$(VBIN):$$PATH" exec $(VPY) -m jupyterlab --no-browser \
		--ServerApp.ip=$(LAB_IP) --ServerApp.port=$(LAB_PORT) --ServerApp.port_retries=0 \
		--ServerApp.root_dir=notebooks --IdentityProvider.token="$$token" $$root $(LAB_ARGS)

bench: $(STAMP_BENCH)
	@shopt -s nullglob; scripts=(benchmarks/bench_*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks/bench_*.py scripts found"; exit 0; fi; \
	for f in "$${scripts[@]}"; do \
		echo "=== $$f"; \
		PATH="$(VBIN):$$PATH" $(VPY) "$$f"; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build artifacts/browser
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 | xargs -0 rm -rf
