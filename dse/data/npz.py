"""NumPy ``.npz`` archives: ``spikes`` (trials, bins, neurons), ``behavior`` (trials, bins, k),
optional ``rates`` (Hz) and ``latents`` (trials, bins, d), and a scalar ``bin_width_s``.

Pickled (object) arrays are refused: the archive is opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from dse.data._files import build, check_file, missing_behavior, resolve_bin_width
from dse.data.base import NeuralData
from dse.errors import DataError

KNOWN_KEYS = ("spikes", "behavior", "rates", "latents", "bin_width_s")


def load_npz(
    path: str | os.PathLike, bin_width_s: float | None = None, require_behavior: bool = True
) -> NeuralData:
    """Load an ``.npz`` archive; ``bin_width_s`` is needed only when the archive lacks it."""
    p = check_file(path)
    where = str(path)
    with p.open("rb") as fh:  # our own handle: np.load leaks its own when the zip is damaged
        names, arrays = _read_archive(fh, where)
    spikes = arrays["spikes"]
    if spikes.ndim != 3:
        raise DataError(
            where, f"must be a 3-D array (trials, bins, neurons), got shape {spikes.shape}", "spikes"
        )
    behavior = arrays.get("behavior")
    if behavior is None:
        behavior = missing_behavior(where, require_behavior, "no 'behavior' array", *spikes.shape[:2])
    return build(
        where,
        spikes,
        behavior,
        resolve_bin_width(where, arrays.get("bin_width_s"), bin_width_s),
        rates=arrays.get("rates"),
        latents=arrays.get("latents"),
        meta={"format": "npz", "extra_keys": sorted(names - set(KNOWN_KEYS))},
    )


def _read_archive(fh: BinaryIO, where: str) -> tuple[set[str], dict[str, np.ndarray]]:
    """The archive's member names and the known arrays in it."""
    try:
        archive = np.load(fh, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(where, f"cannot be read as an .npz archive ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(where, "holds a single array (.npy), not an .npz archive of named arrays")
    with archive:
        names = set(archive.files)
        if "spikes" not in names:
            raise DataError(
                where, f"missing from the archive (it has {sorted(names) or 'nothing'})", "spikes"
            )
        return names, {k: _read(archive, k, where) for k in KNOWN_KEYS if k in names}


def _read(archive: np.lib.npyio.NpzFile, key: str, where: str) -> np.ndarray:
    try:
        return archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise DataError(where, f"cannot be read ({exc})", key) from exc
