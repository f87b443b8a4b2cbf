"""Let ``import aesara`` come before ``import aenet``, as in Lasagne-era code.

aenet installs ``aenet.pth``, which imports this module when Python starts.
It only adds a finder to ``sys.meta_path``.  When a program imports aesara,
the finder runs ``import aenet`` first (numpy 2 compatibility, the BLAS and
the compile cache, which must be settled before aesara's own code runs),
then aesara, then :func:`aenet.finish_setup` (aenet's numpy 2 patches, C
Ops and rewrites).  Once aesara is imported the finder stands aside.
"""
import importlib.abc
import importlib.machinery
import sys

# True while aenet is imported from here, before aesara's own code has run.
loading = False


class _AesaraLoader(importlib.abc.Loader):
    """aesara's own loader, with aenet's set-up before and after it."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        global loading
        loading = True
        try:
            import aenet
        finally:
            loading = False
        self.loader.exec_module(module)
        aenet.finish_setup()


class AesaraFinder(importlib.abc.MetaPathFinder):
    """Finds aesara with the other finders and wraps its loader in :class:`_AesaraLoader`."""

    def find_spec(self, name, path=None, target=None):
        if name != "aesara" or "aesara" in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _AesaraLoader(spec.loader)
        return spec


if not any(isinstance(finder, AesaraFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, AesaraFinder())
