"""Select one device and describe it: aesara settings, hardware, versions, the exp check."""
import sys

from cifarbench.scripts import fail, log_to

log_to(snakemake.log[0])

from aenet.atomic import write_json_atomic  # noqa: E402
from aenet.device import DeviceError  # noqa: E402
from cifarbench.devinfo import describe  # noqa: E402

try:
    info = describe(snakemake.wildcards.device)
except DeviceError as error:
    fail("configure_device", error)
write_json_atomic(snakemake.output.info, info)
print(f"configure_device: {info['exp_check']['computed_on']}", file=sys.stderr)
