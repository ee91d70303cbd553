"""Compatibility shim that lets QKeras 0.9.0's recurrent layers run on TensorFlow 2.15.

Defect: ``qkeras/qrecurrent.py`` (QSimpleRNN/QLSTM/QGRU cells) calls
``tensorflow.python.util.nest.is_sequence`` and ``tensorflow.python.ops.array_ops.unstack``. Both were
removed from TensorFlow's private modules (``is_sequence`` was renamed ``is_nested``; ``unstack`` lives
on as the public ``tf.unstack``), so QGRU raises ``AttributeError`` on its first call.

The fix replaces the two module references *inside qkeras.qrecurrent only* by thin proxies that add
the missing names and forward everything else; TensorFlow itself is not patched. Idempotent.
"""

from __future__ import annotations

import types
from typing import Any

_APPLIED = False


class _ModuleProxy(types.ModuleType):
    """A module that adds ``extras`` in front of an existing module's attributes."""

    def __init__(self, wrapped: types.ModuleType, extras: dict[str, Any]) -> None:
        super().__init__(wrapped.__name__)
        self._wrapped = wrapped
        self.__dict__.update(extras)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


def apply() -> None:
    """Install the shim (safe to call many times)."""
    global _APPLIED
    if _APPLIED:
        return
    import qkeras.qrecurrent as qrec
    import tensorflow as tf
    from tensorflow.python.ops import array_ops
    from tensorflow.python.util import nest

    if not hasattr(nest, "is_sequence"):
        qrec.nest = _ModuleProxy(nest, {"is_sequence": nest.is_nested})
    if not hasattr(array_ops, "unstack"):
        qrec.array_ops = _ModuleProxy(array_ops, {"unstack": tf.unstack})
    _APPLIED = True
