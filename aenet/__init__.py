"""Lasagne- and nolearn-compatible neural networks on aesara.

Importing :mod:`aenet` configures aesara (float32, a compile cache, a BLAS)
and registers aenet's CPU convolution rewrites; see :mod:`aenet.backend`.
"""
from aenet.backend import compile_dir, configure_aesara

configure_aesara()

from aenet import conv  # noqa: E402,F401  (registers the conv rewrites)
from aenet import pool  # noqa: E402,F401  (registers the max-pool rewrites)
from aenet import fusion  # noqa: E402,F401  (registers the fused backward-pass rewrites)
from aenet import corr  # noqa: E402,F401  (registers the batched convolution rewrites)
from aenet import dot  # noqa: E402,F401  (registers the threaded dense-product rewrite)
from aenet import fold  # noqa: E402,F401  (folds small constants in Python, not C)
from aenet import memory  # noqa: E402,F401  (keeps freed memory in the heap; see aenet.memory)
from aenet import pch  # noqa: E402

pch.enable(compile_dir())

__version__ = "0.1.0"
