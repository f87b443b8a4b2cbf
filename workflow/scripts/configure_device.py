"""Select one device and describe it: aesara settings, hardware, versions, the exp check."""
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from aenet.atomic import write_json_atomic  # noqa: E402
from aenet.device import DeviceError  # noqa: E402
from cifarbench.devinfo import describe  # noqa: E402

try:
    info = describe(snakemake.wildcards.device)
except DeviceError as error:
    for stream in (sys.stderr, sys.__stderr__):
        print(f"configure_device: {error}", file=stream)
    sys.exit(1)
write_json_atomic(snakemake.output.info, info)
print(f"configure_device: {info['exp_check']['computed_on']}", file=sys.stderr)
