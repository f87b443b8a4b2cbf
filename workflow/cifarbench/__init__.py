"""The CIFAR-10 benchmark behind this repository's Snakemake workflow.

One module per stage, each with the logic its thin rule script calls:
:mod:`~cifarbench.data` (download with checksums, reading the archive),
:mod:`~cifarbench.preprocess`, :mod:`~cifarbench.devinfo` (configure the
device), :mod:`~cifarbench.models` and :mod:`~cifarbench.experiment` (train),
:mod:`~cifarbench.report` (aggregate).  :mod:`~cifarbench.bench` is
``make bench``; :mod:`~cifarbench.cifar_jpeg` writes the official archive
layout from JPEG files.  Importing this package does not import aesara:
the stages that train import :mod:`aenet` themselves.
"""
