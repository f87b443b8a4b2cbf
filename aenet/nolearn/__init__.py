"""nolearn 0.6-compatible training on :mod:`aenet.lasagne`: ``NeuralNet`` and friends."""
from aenet.nolearn.base import Layers, NeuralNet, objective, r2_score
from aenet.nolearn.batches import BatchIterator, TrainSplit
from aenet.nolearn.handlers import EarlyStopping, PrintLayerInfo, PrintLog, SaveWeights

__all__ = [
    "BatchIterator",
    "EarlyStopping",
    "Layers",
    "NeuralNet",
    "PrintLayerInfo",
    "PrintLog",
    "SaveWeights",
    "TrainSplit",
    "objective",
    "r2_score",
]
