"""One entry point for all neural data: ``load_data("synthetic")`` or ``load_data("file.nwb", ...)``.

Generated sources are looked up by name in :data:`SOURCES`, files by suffix in :data:`LOADERS`;
a new format registers itself with :func:`register_loader` instead of being special-cased here.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dse.data._files import check_file
from dse.data.base import DEFAULT_FRACTIONS, NeuralData, split_data
from dse.data.hdf5 import load_hdf5
from dse.data.npz import load_npz
from dse.data.nwb import load_nwb
from dse.data.synthetic import make_synthetic
from dse.errors import DataError

Loader = Callable[..., NeuralData]

SOURCES: dict[str, Loader] = {"synthetic": make_synthetic}
LOADERS: dict[str, Loader] = {".npz": load_npz, ".h5": load_hdf5, ".hdf5": load_hdf5, ".nwb": load_nwb}


def register_loader(suffix: str, loader: Loader) -> None:
    """Make ``load_data`` open files ending in ``suffix`` (e.g. ``".mat"``) with ``loader(path, **opts)``."""
    LOADERS["." + suffix.lower().lstrip(".")] = loader


def register_source(name: str, generator: Loader) -> None:
    """Make ``load_data(name, **options)`` call ``generator(**options)``."""
    SOURCES[name] = generator


def load_data(
    source: str | os.PathLike = "synthetic", *, check_split: bool = True, **options: object
) -> NeuralData:
    """Load or generate a data set.

    ``source`` is a name in :data:`SOURCES` ("synthetic") or a path whose suffix picks the loader
    (.npz, .h5/.hdf5, .nwb); ``options`` go to that generator or loader. Every problem with the
    file or the options raises :class:`DataError` naming the file, the field and the problem.
    With ``check_split`` (default) a data set too small for the default 80/10/10 split is refused
    here rather than later.
    """
    if isinstance(source, str) and source in SOURCES:
        fn, args, where = SOURCES[source], (), source
    else:
        where = str(source)
        if isinstance(source, str) and not Path(source).suffix and not Path(source).exists():
            raise DataError(where, f"no such file, and not a known source ({', '.join(sorted(SOURCES))})")
        path = check_file(source)
        suffix = path.suffix.lower()
        if suffix not in LOADERS:
            known = ", ".join(sorted(LOADERS)) + ", or " + ", ".join(repr(s) for s in sorted(SOURCES))
            raise DataError(where, f"unknown file type '{suffix or '(none)'}'; known: {known}")
        fn, args = LOADERS[suffix], (source,)
    _check_options(where, fn, options, n_positional=len(args))
    data = fn(*args, **options)
    if check_split:
        _check_splittable(data)
    return data


def _check_options(where: str, fn: Loader, options: dict[str, object], n_positional: int) -> None:
    params = list(inspect.signature(fn).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return  # the generator validates its own keyword settings
    accepted = [p.name for p in params[n_positional:]]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataError(where, f"unknown option(s) {unknown}; this source accepts {accepted}", "options")


def _check_splittable(data: NeuralData) -> None:
    """Run the default split on a 1-bin stand-in with the same trial count: same rule, same message."""
    n = data.n_trials
    stand_in = NeuralData(
        spikes=np.zeros((n, 1, 1), dtype=np.int32),
        behavior=np.zeros((n, 1, 0)),
        bin_width_s=data.bin_width_s,
        source=data.source,
    )
    split_data(stand_in, seed=0, fractions=DEFAULT_FRACTIONS)
