"""On-disk cache of trained models, so trials that need an identical model share it.

Key: a hash of the data (content fingerprint of the arrays and the split indices), the model
configuration (architecture, QAT quantizers) and the training settings. A PTQ scan over precisions
and reuse factors therefore trains once. An entry is a directory ``<root>/<key>/`` with the deploy
model (``model.h5``) and ``train.json`` (history, epochs, float-model metrics, timings). Entries are
built in a private temp directory and renamed into place (atomic on one filesystem); a per-key
``fcntl`` lock makes concurrent workers that need the same model wait for one training instead of
training twice. A training that was pruned or failed is never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dse.data.base import DataSplit
from dse.locks import key_lock

KEY_VERSION = 1


def data_fingerprint(split: DataSplit) -> str:
    """A content hash of the split (spikes, behaviour, bin width and which trial is where)."""
    h = hashlib.sha256()
    for part in (split.train, split.valid, split.test):
        for arr in (part.spikes, part.behavior):
            a = np.ascontiguousarray(arr)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.tobytes())
        h.update(repr(part.bin_width_s).encode())
    return h.hexdigest()


def model_key(data_fp: str, model_cfg: dict[str, Any], train_cfg: dict[str, Any]) -> str:
    payload = json.dumps({"v": KEY_VERSION, "data": data_fp, "model": model_cfg, "train": train_cfg},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass
class CachedModel:
    key: str
    path: Path  # the entry directory
    model_file: Path
    info: dict[str, Any]  # train.json
    hit: bool


MODEL_FILE = "model.h5"  # the default name of an entry's model file (a family may save another format)


def _read(entry: Path, key: str, hit: bool, model_name: str = MODEL_FILE) -> CachedModel | None:
    info_file, model_file = entry / "train.json", entry / model_name
    if not (info_file.is_file() and model_file.is_file()):
        return None
    return CachedModel(key, entry, model_file, json.loads(info_file.read_text()), hit)


def lookup(root: Path, key: str, model_name: str = MODEL_FILE) -> CachedModel | None:
    return _read(root / key, key, hit=True, model_name=model_name)


def get_or_train(
    root: Path, key: str, train: Callable[[Path], dict[str, Any]], model_name: str = MODEL_FILE
) -> CachedModel:
    """Return the cached model ``key``, or call ``train(dir)`` (which must write ``dir/<model_name>`` and
    return the info dict) under the key's lock and publish the result."""
    root.mkdir(parents=True, exist_ok=True)
    found = lookup(root, key, model_name)
    if found is not None:
        return found
    with key_lock(root, key):
        found = lookup(root, key, model_name)  # somebody else trained it while we waited
        if found is not None:
            return found
        tmp_root = root / "tmp"
        tmp_root.mkdir(exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=tmp_root))
        try:
            info = train(work)
            (work / "train.json").write_text(json.dumps(info, indent=1, default=_json_default))
            entry = root / key
            os.replace(work, entry) if not entry.exists() else shutil.rmtree(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    out = _read(root / key, key, hit=False, model_name=model_name)
    if out is None:  # pragma: no cover - only if the filesystem lost the entry
        raise RuntimeError(f"model cache entry {root / key} is incomplete")
    return out


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
