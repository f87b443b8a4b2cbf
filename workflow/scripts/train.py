"""Train one model on one device; the log gets nolearn's epoch table.

Training resumes from the checkpoint of a killed run (same settings and data)
and the checkpoint goes once the outputs are written.  A nan or infinite loss,
or a failed write (full disk, read-only folder), ends the job with one line
naming the cause; no metrics file is written then.
"""
from pathlib import Path

from cifarbench.scripts import fail, log_to

log_to(snakemake.log[0], stdout=True)

from aenet.compile.settings import set_num_threads  # noqa: E402
from cifarbench.experiment import discard_temp_files, remove_checkpoint, run_experiment, write_outputs  # noqa: E402

set_num_threads(snakemake.threads)
discard_temp_files(*snakemake.output)
try:
    result = run_experiment(
        arrays_dir=Path(snakemake.input.X_train).parent,
        model=snakemake.wildcards.model,
        device=snakemake.wildcards.device,
        model_config=snakemake.params.model,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        checkpoint=snakemake.params.checkpoint,
    )
    write_outputs(
        result,
        params=snakemake.output.params,
        history=snakemake.output.history,
        metrics=snakemake.output.metrics,
    )
    remove_checkpoint(snakemake.params.checkpoint)
except (FloatingPointError, OSError) as error:
    fail("train_model", error, with_traceback=True)
