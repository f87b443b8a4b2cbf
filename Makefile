# `make run` trains and reports on the default config; `make test` runs every test.
# Both create .venv on first use with the default stack (requirements.lock:
# numpy 2), from whatever python3 is if it is Python 3.11 to 3.13;
# `make PYTHON=python3.12 ...` chooses another interpreter.
# `make test-numpy1` runs the tests on the numpy 1 stack, in .venv-numpy1.
PYTHON ?= python3
VENV ?= .venv
LOCK ?= requirements.lock
SUPPORTED ?= 3.11 3.12 3.13
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := $(VENV)/.torch
CORES ?= $(shell nproc)
SNAKEMAKE_ARGS ?=
GPU_PYTHON ?= 3.12

.PHONY: run test test-numpy1 venv bench bench-gpu gpu-bundle gpu-rehearsal lint clean

$(STAMP): $(LOCK) pyproject.toml workflow/pyproject.toml aenet_import_hook.py aenet.pth
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(None if v in "$(SUPPORTED)".split() else "$(PYTHON) is Python " + v + "; $(LOCK) needs Python $(SUPPORTED): run make PYTHON=python3.X with one of those")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e . -e ./workflow
	touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

# PyTorch is optional: its tests skip, saying so, where it is not installed.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# numpy 1.26 has no wheels for Python 3.13.
test-numpy1:
	$(MAKE) test VENV=.venv-numpy1 LOCK=requirements-numpy1.lock SUPPORTED="3.11 3.12"

# PyTorch, only for the comparison, goes into the venv on first use: the CPU build
# from PyTorch's own index (TORCH_INDEX=... another).  A torch already installed,
# a CUDA build included, is kept.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
$(TORCH): $(STAMP)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet --index-url $(TORCH_INDEX) torch==2.13.0
	touch $@

bench: $(TORCH)
	$(BIN)/python -m cifarbench.bench $(BENCH_ARGS)

# The same table with aenet on the GPU (needs JAX's CUDA plugin: README, "GPU"):
# stops at once, naming what is missing, without one; checks first that a few
# training steps give the CPU's losses.
bench-gpu: $(STAMP)
	$(BIN)/python -m cifarbench.bench --device gpu $(BENCH_ARGS)

# Wheels for a GPU host without internet (README, "Offline GPU check").
gpu-bundle: $(STAMP)
	bash tools/gpu-bundle.sh $(GPU_PYTHON) build/gpu-bundle

# The offline GPU check rehearsed on this machine's CPU (device jax-cpu).
gpu-rehearsal: $(STAMP)
	bash tools/gpu-rehearsal.sh

lint: $(STAMP)
	$(BIN)/snakemake --lint

clean:
	rm -rf $(VENV) .venv-numpy1 .snakemake results logs benchmarks build
