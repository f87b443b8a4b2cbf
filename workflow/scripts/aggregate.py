"""Collect every metrics file into results/summary.csv, .png and .html."""
import sys

from cifarbench.scripts import log_to

log_to(snakemake.log[0])

from cifarbench.report import plot_summary, run_table, summarize, write_summary  # noqa: E402
from cifarbench.summary_page import write_summary_html  # noqa: E402

runs = run_table(snakemake.input.metrics)
summary = summarize(snakemake.input.metrics)
write_summary(summary, snakemake.output.summary)
plot_summary(summary, snakemake.output.plot, runs)
write_summary_html(summary, snakemake.config, snakemake.input.devices, snakemake.output.page)
print(summary.to_string(index=False), file=sys.stderr)
