# `make run` trains and reports on the default config; `make test` runs every test.
# Both create .venv (Python 3.11) with the pinned packages on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := $(VENV)/.torch
CORES ?= 2
SNAKEMAKE_ARGS ?=

.PHONY: run test bench bench-gpu lint clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

test: $(STAMP) $(TORCH)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# PyTorch (the CPU build, only for the comparison and its tests) goes into .venv on first use;
# pip takes torch==2.13.0 as a CPU build here, and the check refuses a CUDA build.
$(TORCH): $(STAMP)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/python -c "import sys, torch; sys.exit(torch.version.cuda and 'torch ' + torch.__version__ + ' is a CUDA build; install the CPU one (torch==2.13.0+cpu)')"
	touch $@

bench: $(TORCH)
	$(BIN)/python -m aenet.bench $(BENCH_ARGS)

# The same table with aenet on the GPU (needs `.venv/bin/pip install 'jax[cuda12]==0.7.1'`
# and an NVIDIA driver >= 525): stops at once, naming what is missing, without one;
# checks first that a few training steps give the CPU's losses.  PyTorch's column
# is filled if torch is installed (make bench installs it).
bench-gpu: $(STAMP)
	$(BIN)/python -m aenet.bench --device gpu $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint

clean:
	rm -rf $(VENV) .snakemake results logs benchmarks
