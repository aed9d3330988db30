# make run   - create the environment and start the app
# make test  - create the environment and run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch, installed before the project so its range is already met.
# Elsewhere: make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0

.PHONY: setup system-deps run test bench screenshot clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

system-deps:
	bash scripts/system-deps.sh

run: setup system-deps
	$(VENV)/bin/faceattend

test: setup system-deps
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: setup
	bash bench/run.sh

screenshot: setup
	bash scripts/system-deps.sh --xvfb
	bash scripts/screenshot.sh

clean:
	rm -rf $(VENV) build dist
