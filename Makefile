# `make run` trains and reports on the default config; `make test` runs every test.
# Both create .venv (Python 3.11) with the pinned packages on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
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

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# PyTorch (the CPU build, only for the comparison) goes into .venv on first use.
bench: $(STAMP)
	$(BIN)/python -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
		|| $(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/python -c "import sys, torch; sys.exit(torch.version.cuda and 'torch ' + torch.__version__ + ' is a CUDA build; install the CPU one (torch==2.13.0+cpu)')"
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
