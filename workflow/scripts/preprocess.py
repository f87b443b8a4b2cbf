"""Unpickle and check the archive, then write the post's grayscale arrays to results/arrays/."""
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from cifarbench.data import DataError, read_cifar10  # noqa: E402
from cifarbench.preprocess import preprocess, save_arrays  # noqa: E402

try:
    data = read_cifar10(snakemake.input.archive)
except DataError as error:
    for stream in (sys.stderr, sys.__stderr__):
        print(f"preprocess_data: {error}", file=stream)
    sys.exit(1)
outdir = Path(snakemake.output.X_train).parent
save_arrays(preprocess(data), outdir)
print(
    f"preprocess_data: {len(data.y_train)} training and {len(data.y_test)} test images -> {outdir}",
    file=sys.stderr,
)
