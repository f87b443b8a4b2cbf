"""Tabulate and draw epoch time against batch size: results/scaling.csv and .png."""
import sys

from cifarbench.scripts import log_to

log_to(snakemake.log[0])

from cifarbench.figures import scaling_figure, scaling_table  # noqa: E402
from cifarbench.report import save_png, write_summary  # noqa: E402

table = scaling_table(snakemake.input.metrics)
write_summary(table, snakemake.output.table)
save_png(scaling_figure(table), snakemake.output.plot)
print(table.to_string(index=False), file=sys.stderr)
