"""The CIFAR-10 benchmark behind this repository's Snakemake workflow.

One module per stage, each with the logic its thin rule script calls:
:mod:`~cifarbench.download`, :mod:`~cifarbench.data` (reading the archive),
:mod:`~cifarbench.preprocess`, :mod:`~cifarbench.devinfo` (configure the
device), :mod:`~cifarbench.models` and :mod:`~cifarbench.experiment` (train),
:mod:`~cifarbench.report` (aggregate); :mod:`~cifarbench.config` holds the
schema's defaults and checks, :mod:`~cifarbench.scripts` what the rule
scripts share.  :mod:`~cifarbench.bench` is ``make bench`` (with
:mod:`~cifarbench.bench_nets` and :mod:`~cifarbench.timing`);
:mod:`~cifarbench.cifar_jpeg` writes the official archive layout from JPEG
files.  Importing this package does not import aesara: the stages that train
import :mod:`aenet` themselves.
"""
