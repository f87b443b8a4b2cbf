"""Unpickle and check the archive, then write the post's grayscale arrays to results/arrays/."""
import sys
from pathlib import Path

from cifarbench.scripts import fail, log_to

log_to(snakemake.log[0])

from cifarbench.data import DataError, read_cifar10  # noqa: E402
from cifarbench.preprocess import preprocess, save_arrays  # noqa: E402

try:
    data = read_cifar10(snakemake.input.archive)
except DataError as error:
    fail("preprocess_data", error)
outdir = Path(snakemake.output.X_train).parent
save_arrays(preprocess(data), outdir)
print(
    f"preprocess_data: {len(data.y_train)} training and {len(data.y_test)} test images -> {outdir}",
    file=sys.stderr,
)
