"""Train one model on one device; the log gets nolearn's epoch table."""
import sys
from pathlib import Path

sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)

from aenet.backend import set_num_threads  # noqa: E402
from aenet.experiment import run_experiment, write_outputs  # noqa: E402

set_num_threads(snakemake.threads)
result = run_experiment(
    arrays_dir=Path(snakemake.input.X_train).parent,
    model=snakemake.wildcards.model,
    device=snakemake.wildcards.device,
    model_config=snakemake.params.model,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
write_outputs(
    result,
    params=snakemake.output.params,
    history=snakemake.output.history,
    metrics=snakemake.output.metrics,
)
