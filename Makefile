# Two commands from a fresh clone:
#   make run    set up .venv, build the index if needed, start the web chat (http://127.0.0.1:7860)
#   make test   set up .venv with the dev tools, build the index if needed, run ruff, mypy and pytest
# Thin wrappers: make ask Q="vraag", make index, make eval, make bench (extra flags: ARGS="...").
#
# Every target can be run again: pip runs only when pyproject.toml changed (stamp file in .venv,
# named after a hash of pyproject.toml), and `python -m rag.index` is a no-op when the index is current.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch is installed first from this exact CPU build; otherwise pip resolves a multi-GB CUDA build.
TORCH ?= torch==2.13.0
ARGS ?=
# -qq: no progress and none of the harmless "Location ... is ignored" warnings of this machine's pip config
PIP_FLAGS ?= --disable-pip-version-check -qq

DEPS_HASH := $(shell sha256sum pyproject.toml | cut -c1-12)
STAMP_RUN := $(VENV)/.installed-run-$(DEPS_HASH)
STAMP_DEV := $(VENV)/.installed-dev-$(DEPS_HASH)

# No network but package registries: never wait on the Hugging Face hub, never send analytics.
# Override from the environment if you do want to download a model (HF_HUB_OFFLINE=0 make ...).
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export GRADIO_ANALYTICS_ENABLED ?= False
export TOKENIZERS_PARALLELISM ?= false
# Browser tests use the system Chromium (/usr/bin/chromium); Playwright must never download one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export Q

.PHONY: help run test lint typecheck pytest index ask eval train bench install install-dev clean-venv

help:
	@echo "make run              web chat on http://127.0.0.1:7860 (sets up .venv and the index first)"
	@echo "make test             ruff + mypy + pytest (sets up .venv with dev tools and the index first)"
	@echo "make ask Q=\"vraag\"    one question in the terminal (without Q: interactive)"
	@echo "make index            build the index (no-op when current)"
	@echo "make eval             python -m rag.evaluate --mode all (test split)"
	@echo "make train            python -m rag.train (refit rag/models/scorer.json on train + dev)"
	@echo "make bench            python -m bench: product checks + studies, rewrites docs/benchmarks.md"
	@echo "Extra flags for any of these: ARGS=\"--top-k 5\"; another interpreter: PYTHON=/path/to/python3.11"

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 nodig, gevonden: " + sys.version'
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): | $(PY)
	@echo "Installing the project into $(VENV) (only when pyproject.toml changed; ~2 min the first time)"
	$(PIP) install $(PIP_FLAGS) $(TORCH)
	$(PIP) install $(PIP_FLAGS) -e .
	rm -f $(VENV)/.installed-run-*
	touch $@

$(STAMP_DEV): | $(PY)
	@echo "Installing the project with the dev tools into $(VENV) (only when pyproject.toml changed; ~2 min the first time)"
	$(PIP) install $(PIP_FLAGS) $(TORCH)
	$(PIP) install $(PIP_FLAGS) -e '.[dev]'
	rm -f $(VENV)/.installed-run-* $(VENV)/.installed-dev-*
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)
install-dev: $(STAMP_DEV)

index: $(STAMP_RUN)
	$(PY) -m rag.index $(ARGS)

run: $(STAMP_RUN)
	$(PY) -m rag.index
	$(PY) app.py $(ARGS)

ask: $(STAMP_RUN)
	@if [ -n "$${Q:-}" ]; then $(PY) -m rag.ask $(ARGS) "$$Q"; else $(PY) -m rag.ask $(ARGS); fi

eval: $(STAMP_RUN)
	$(PY) -m rag.evaluate --mode all $(ARGS)

train: $(STAMP_DEV)
	$(PY) -m rag.index --quiet
	$(PY) -m rag.train $(ARGS)

# the product checks (rag.bench) and the studies (bench/), one report; needs the bench extra (in dev)
bench: $(STAMP_DEV)
	$(PY) -m bench --output docs/benchmarks.md $(ARGS)

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP_DEV)
	$(VENV)/bin/mypy

# The index is built first so that the test session can seed its embedding cache from index/cache.
pytest: $(STAMP_DEV)
	$(PY) -m rag.index --quiet
	$(PY) -m pytest $(ARGS)

test: $(STAMP_DEV)
	$(PY) -m rag.index --quiet
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest $(ARGS)

clean-venv:
	rm -rf $(VENV)
