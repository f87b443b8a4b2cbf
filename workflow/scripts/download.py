"""Fetch the CIFAR-10 archive to resources/, kept only if its checksum matches."""
from cifarbench.scripts import fail, log_to

log_to(snakemake.log[0])

from cifarbench.download import ChecksumError, DownloadError, fetch  # noqa: E402

LOCAL_COPY_HINT = (
    "; to use a local copy, set data_url and its checksum, e.g. --config "
    "data_url=/path/to/cifar-10-python.tar.gz data_sha256=<its sha256>"
)

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
    fail("download_data", error, hint=LOCAL_COPY_HINT if isinstance(error, DownloadError) else "")
