"""aesara's C backend, made fast for aenet's nets: C Ops and the rewrites that put them in.

Importing this package registers the rewrites with aesara's ``optdb``:

- :mod:`~aenet.cpu.conv`: the abstract 2-d convolution compiles in FAST_RUN
  (aesara 2.9.4's own ``CorrMM`` lowering does not);
- :mod:`~aenet.cpu.corr`: convolutions as batched, threaded correlations;
- :mod:`~aenet.cpu.pool`: threaded max-pooling and its gradient;
- :mod:`~aenet.cpu.fusion`: ReLU fused into pooling, and the bias gradient's channel sum;
- :mod:`~aenet.cpu.dot`: a threaded dense product for large matrices;
- :mod:`~aenet.cpu.fold`: small constants folded in Python, not compiled;
- :mod:`~aenet.cpu.momentum`: the Nesterov update as one Op (used by
  :func:`aenet.lasagne.updates.nesterov_momentum`).

:mod:`~aenet.cpu.threaded` holds the OpenMP base class these Ops share and
reads their C sources (``c/*.c``); :mod:`~aenet.cpu.graph` holds the graph
matching the rewrites share.
"""
from aenet.cpu import conv, corr, dot, fold, fusion, pool  # noqa: F401  (register the rewrites)
