# make run   - create the environment and start the app
# make test  - create the environment, lint and type-check (make lint), then run the tests
# make lint  - ruff (style, imports, likely bugs) and mypy (types) over the code
# make soak  - the real window on a looping video for an hour (SOAK_MINUTES=60), health checked
# make package         - build dist/faceattend-<version>-linux-x86_64.tar.xz and the .deb (packaging/README.md)
# make test-packaging  - build them and test them: the frozen app's --smoke-test, the .deb, a clean-root install
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch, installed before the project so its range is already met.
# scripts/install_torch.sh stops rather than pull the CUDA build (TORCH_CUDA=1 asks for it).
TORCH ?= torch==2.13.0

.PHONY: setup system-deps run lint test bench soak screenshot clean package test-packaging

# Every install takes the versions in constraints.txt (tested together; see its header).
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	bash scripts/install_torch.sh $(PY) $(TORCH)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

setup: $(VENV)/.installed

system-deps:
	bash scripts/system-deps.sh

run: setup system-deps
	$(VENV)/bin/faceattend

lint: setup
	$(VENV)/bin/ruff check faceattend tests bench
	$(VENV)/bin/mypy faceattend

test: setup system-deps lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: setup
	bash bench/run.sh

# The real window on a looping video with automatic check-in, for SOAK_MINUTES (bench/soak.py).
SOAK_MINUTES ?= 60
soak: setup
	bash scripts/system-deps.sh --xvfb
	$(PY) bench/soak.py --minutes $(SOAK_MINUTES) --json bench/results/soak-$(SOAK_MINUTES)min.json

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
