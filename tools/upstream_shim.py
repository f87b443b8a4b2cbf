"""pytest plugin of tools/upstream_suites.py: upstream's test suites see aenet under its old names.

Loaded with ``-p upstream_shim`` from a scratch folder (never installed, no
sitecustomize), it puts one finder first on ``sys.meta_path`` before any test
module is imported:

* ``lasagne[.x]`` is ``aenet.lasagne[.x]``, ``nolearn.lasagne[.x]`` is
  ``aenet.nolearn[.x]``, ``theano[.x]`` is ``aesara[.x]`` (so
  ``theano.tensor.nnet`` and ``theano.tensor.signal`` are aesara's deprecated
  modules), ``theano.scan_module[.scan_utils]`` is ``aesara.scan[.utils]``,
  ``mock`` is ``unittest.mock`` and ``sklearn.grid_search`` /
  ``sklearn.cross_validation`` are ``sklearn.model_selection``: each alias is
  the very module object in ``sys.modules``;
* a few names that have no module of their own today are small stand-ins
  (``STAND_INS``): the ``nolearn`` package (its ``lasagne`` is aenet.nolearn,
  its ``_compat`` the Python 3 half of nolearn's), ``theano.gof[.graph]``
  (aesara.graph.basic plus ``is_same_graph``), ``theano.sandbox.cuda`` (CPU
  Theano's: ``cuda_enabled`` False) and ``theano.tensor.shared_randomstreams``;
* ``aesara.sandbox.rng_mrg.MRG_RandomStreams`` is ``MRG_RandomStream``;
  ``sklearn.datasets.load_boston`` reads the copy of the data scikit-learn still
  ships, and ``fetch_mldata`` (MNIST, from a site gone since 2018) raises a
  RuntimeError starting with ``UPSTREAM-ENV`` so that such tests are told apart.

It also reports every test outcome as a JSON line to the file named by
``UPSTREAM_RESULTS`` as soon as it is known, so that a run killed by its
timeout still leaves what it finished.
"""
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import types

ALIASES = (  # (old prefix, new prefix), most specific first
    ("nolearn.lasagne", "aenet.nolearn"),
    ("lasagne", "aenet.lasagne"),
    ("theano.scan_module.scan_utils", "aesara.scan.utils"),
    ("theano.scan_module", "aesara.scan"),
    ("theano", "aesara"),
    ("mock", "unittest.mock"),
    ("sklearn.grid_search", "sklearn.model_selection"),
    ("sklearn.cross_validation", "sklearn.model_selection"),
)
ENV_MARK = "UPSTREAM-ENV"


def _nolearn():
    module = types.ModuleType("nolearn")
    module.__path__ = []
    module.lasagne = importlib.import_module("aenet.nolearn")
    return module


def _nolearn_compat():
    import builtins
    import pickle
    from configparser import ConfigParser
    from io import StringIO

    module = types.ModuleType("nolearn._compat")
    module.PY2, module.builtins, module.pickle = False, builtins, pickle
    module.ConfigParser, module.StringIO, module.basestring = ConfigParser, StringIO, str

    def chain_exception(exc1, exc2):
        raise exc1 from exc2

    module.chain_exception = chain_exception
    return module


def _gof():
    module = types.ModuleType("theano.gof")
    module.__path__ = []
    module.graph = sys.modules.setdefault("theano.gof.graph", _gof_graph())
    return module


def _gof_graph():
    from aesara.graph import basic
    from aesara.graph.rewriting.utils import is_same_graph

    module = types.ModuleType("theano.gof.graph")
    module.__dict__.update({k: v for k, v in vars(basic).items() if not k.startswith("__")})
    module.is_same_graph = is_same_graph
    return module


def _cuda():
    module = types.ModuleType("theano.sandbox.cuda")
    module.cuda_enabled = False
    module.dnn = types.SimpleNamespace(dnn_available=lambda: False)
    return module


def _shared_randomstreams():
    from aesara.tensor.random.utils import RandomStream

    module = types.ModuleType("theano.tensor.shared_randomstreams")
    module.RandomStreams = RandomStream
    return module


STAND_INS = {
    "nolearn": _nolearn,
    "nolearn._compat": _nolearn_compat,
    "theano.gof": _gof,
    "theano.gof.graph": _gof_graph,
    "theano.sandbox.cuda": _cuda,
    "theano.tensor.shared_randomstreams": _shared_randomstreams,
}


def target_of(name):
    """The module ``name`` stands for (``None`` if it is no alias)."""
    for old, new in ALIASES:
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


def stand_in_of(name):
    """The stand-in's old name for ``name``, also when asked under the new name.

    ``from theano.sandbox import cuda`` imports ``aesara.sandbox.cuda``: the
    alias ``theano.sandbox`` is aesara's module, named ``aesara.sandbox``.
    """
    if name in STAND_INS:
        return name
    for old, new in ALIASES:
        if name.startswith(new + ".") and old + name[len(new):] in STAND_INS:
            return old + name[len(new):]
    return None


class _Existing(importlib.abc.Loader):
    """Hands the import system a module that already exists, keeping its own ``__spec__``."""

    def __init__(self, module):
        self.module = module
        self.spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the old names: stand-ins first, then the prefix aliases."""

    def find_spec(self, name, path=None, target=None):
        old = stand_in_of(name)
        if old is not None:
            module = sys.modules.get(old) or STAND_INS[old]()
        else:
            new = target_of(name)
            if new is None:
                return None
            try:
                module = importlib.import_module(new)
            except ModuleNotFoundError as exc:
                if exc.name == new:  # so that the error names the old name, as pydoc.locate expects
                    return None
                raise
        is_package = hasattr(module, "__path__")
        return importlib.machinery.ModuleSpec(name, _Existing(module), is_package=is_package)


def _patch_libraries():
    """The renamed or removed names the suites reach as attributes, not by import."""
    import aesara
    import aesara.sandbox.rng_mrg as rng_mrg
    import sklearn.datasets

    rng_mrg.MRG_RandomStreams = rng_mrg.MRG_RandomStream
    aesara.gof = importlib.import_module("theano.gof")
    sklearn.datasets.load_boston = _load_boston
    sklearn.datasets.fetch_mldata = _fetch_mldata


def _load_boston():
    """The Boston house prices as ``sklearn.datasets.load_boston`` (before 1.2) returned them."""
    import csv
    from pathlib import Path

    import numpy as np
    import sklearn.datasets
    from sklearn.utils import Bunch

    path = Path(sklearn.datasets.__file__).parent / "data" / "boston_house_prices.csv"
    if not path.exists():
        raise RuntimeError(f"{ENV_MARK}: {path} is missing (load_boston's data)")
    rows = list(csv.reader(path.read_text().splitlines()))
    values = np.array(rows[2:], dtype=np.float64)
    return Bunch(data=values[:, :-1], target=values[:, -1], feature_names=np.array(rows[1][:-1]))


def _fetch_mldata(name, *args, **kwargs):
    raise RuntimeError(f"{ENV_MARK}: fetch_mldata({name!r}) downloads from mldata.org, gone since 2018; "
                       "no offline copy here")


def install():
    """Put the finder first on ``sys.meta_path`` (once) and patch the libraries."""
    if not any(isinstance(finder, AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
        _patch_libraries()


def _crash_message(report):
    """``Type: message`` of a failed report's exception, one line."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return crash.message.splitlines()[0]
    text = str(report.longrepr or "")
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    lines = errors or [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _skip_reason(report):
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


def _write(record):
    path = os.environ.get("UPSTREAM_RESULTS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(record) + "\n")


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        _write({"kind": "collected", "nodeid": item.nodeid})


def pytest_collectreport(report):
    if report.failed:
        _write({"kind": "collect_error", "nodeid": report.nodeid, "message": _crash_message(report)})


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        message = _skip_reason(report) if report.skipped else _crash_message(report) if report.failed else ""
        _write({"kind": "test", "nodeid": report.nodeid, "when": report.when,
                "outcome": report.outcome, "message": message})


install()
