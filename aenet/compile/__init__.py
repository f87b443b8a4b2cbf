"""How aenet compiles: aesara's settings and BLAS, precompiled headers, a function cache, malloc.

- :mod:`~aenet.compile.settings`: float32, the compile cache folder and a BLAS
  from PyPI, settled before aesara's own code runs;
- :mod:`~aenet.compile.pch`: precompiled headers for aesara's C modules;
- :mod:`~aenet.compile.function_cache`: compiled functions kept on disk;
- :mod:`~aenet.compile.memory`: glibc's malloc keeps freed memory in the heap.
"""
