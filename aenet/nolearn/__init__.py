"""nolearn 0.6-compatible training on :mod:`aenet.lasagne`: ``NeuralNet`` and friends."""
from aenet.nolearn.base import NeuralNet, objective
from aenet.nolearn.batches import BatchIterator, TrainSplit
from aenet.nolearn.graph import grad_scale
from aenet.nolearn.handlers import (
    EarlyStopping,
    PrintLayerInfo,
    PrintLog,
    RememberBestWeights,
    RestoreBestWeights,
    SaveWeights,
    WeightLog,
)
from aenet.nolearn.inputs import r2_score
from aenet.nolearn.routing import Layers

__all__ = [
    "BatchIterator",
    "EarlyStopping",
    "Layers",
    "NeuralNet",
    "PrintLayerInfo",
    "PrintLog",
    "RememberBestWeights",
    "RestoreBestWeights",
    "SaveWeights",
    "TrainSplit",
    "WeightLog",
    "grad_scale",
    "objective",
    "r2_score",
]
