"""Neural data: one in-memory form (:class:`NeuralData`), its seeded split and the loaders."""

from dse.data.base import DataSplit, NeuralData, split_data
from dse.data.loader import load_data

__all__ = ["DataSplit", "NeuralData", "load_data", "split_data"]
