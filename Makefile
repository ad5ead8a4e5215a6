# Quick start: `make demo` (set up .venv, run the main job) and `make test` (set up, run the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test bench lint clean

# torch first, pinned to the CPU wheel (an unpinned torch pulls a multi-GB CUDA build); the test
# extra then adds the training stack (clamp-notation[train]) on top of the torch-free runtime.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python -m clamp_core.demo

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/abc_roundtrip.py

lint: setup
	$(BIN)/python -m ruff check clamp_core export musescore_bridge jupyter_ext tests bench scripts

clean:
	rm -rf $(VENV) .cache build *.egg-info
