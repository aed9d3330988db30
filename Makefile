# make run   - create the environment and start the app
# make test  - create the environment and run the tests
# make package         - build dist/faceattend-<version>-linux-x86_64.tar.xz and the .deb (packaging/README.md)
# make test-packaging  - build them and test them: the frozen app's --smoke-test, the .deb, a clean-root install
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch, installed before the project so its range is already met.
# Elsewhere: make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0

.PHONY: setup system-deps run test bench screenshot clean package test-packaging

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

# The build makes its own venv (build/pkg-venv: runtime dependencies and PyInstaller only).
package:
	PYTHON="$(PYTHON)" TORCH="$(TORCH)" bash packaging/build_linux.sh

test-packaging: setup
	bash packaging/linux/system-packages.sh debootstrap desktop-file-utils
	QT_QPA_PLATFORM=offscreen PYTHON="$(PYTHON)" TORCH="$(TORCH)" $(PY) -m pytest -q -m slow tests/test_packaging.py

clean:
	rm -rf $(VENV) build dist
