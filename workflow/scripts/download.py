"""Fetch the CIFAR-10 archive to resources/, kept only if its checksum matches."""
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from cifarbench.data import ChecksumError, DownloadError, fetch  # noqa: E402

try:
    fetch(
        snakemake.params.url,
        snakemake.output.archive,
        sha256=snakemake.params.sha256,
        md5=snakemake.params.md5,
        retries=snakemake.params.retries,
        timeout=snakemake.params.timeout,
    )
except (ChecksumError, DownloadError, OSError, ValueError) as error:
    hint = (
        "; to use a local copy, set data_url and its checksum, e.g. --config "
        "data_url=/path/to/cifar-10-python.tar.gz data_sha256=<its sha256>"
        if isinstance(error, DownloadError)
        else ""
    )
    for stream in (sys.stderr, sys.__stderr__):
        print(f"download_data: {error}{hint}", file=stream)
    sys.exit(1)
