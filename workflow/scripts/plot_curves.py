"""Draw every run's per-epoch history into results/curves.png."""
from cifarbench.scripts import log_to

log_to(snakemake.log[0])

from cifarbench.figures import curves_figure  # noqa: E402
from cifarbench.report import save_png  # noqa: E402

save_png(curves_figure(snakemake.input.histories), snakemake.output.plot)
