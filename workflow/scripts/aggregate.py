"""Collect every metrics file into results/summary.csv and results/summary.png."""
import sys

from cifarbench.scripts import log_to

log_to(snakemake.log[0])

from cifarbench.report import plot_summary, summarize, write_summary  # noqa: E402

summary = summarize(snakemake.input.metrics)
write_summary(summary, snakemake.output.summary)
plot_summary(summary, snakemake.output.plot)
print(summary.to_string(index=False), file=sys.stderr)
