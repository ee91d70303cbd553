"""study.yaml: the configuration of one design-space-exploration study -- the one public study API.

``load_study(path) -> StudyConfig`` reads a study file with ``yaml.safe_load``, validates all of
it (pydantic v2 schema with unknown keys forbidden, then semantic checks) and returns plain frozen
dataclasses. Every problem is reported, each as one ``file: field: problem`` line (with its YAML
line number), in a :class:`StudyConfigError`, which is a :class:`~dse.errors.ConfigError`.
Loading writes nothing. ``examples/quick.yaml`` and ``examples/paper.yaml`` are commented examples.

Format (top level; only ``name``, ``objectives`` and one of ``n_trials``/``timeout_s`` are required)::

    name: paper                # study name: letters, digits, _ . -  (names the SQLite file too)
    family: NAME               # model family (dse.families; default DEFAULT_FAMILY) -- decides the sections
    storage: sqlite:///runs/paper.db      # default: sqlite:///<dir of this file>/<name>.db
    # storage:                            # a server: the password never appears in the file
    #   url: postgresql://dse@db.example.org:5432/dse     # or postgresql://dse:${PGPASSWORD}@...
    #   password_env: PGPASSWORD
    data:
      source: synthetic        # or a .nwb/.h5/.hdf5/.npz path, relative to this file
      options: {n_trials: 170, n_bins: 73, n_neurons: 70, seed: 0}   # the generator's / loader's options
      split_seed: 0            # seed of the 80/10/10 train/valid/test split of the data's trials
    model: {...}               # the family's parameter sections (below), e.g. model, train, quantization
    objectives:                # registry names (objectives.registry); direction defaults to the registry's
      - behavior_r2
      - {name: latency_us, direction: minimize}
    constraints:               # optional; each becomes one Optuna constraint (<= 0 feasible)
      max_utilisation: 1.0     # every resource of the part; or per resource {dsp: 0.8, lut: 0.9, ...}
      max_latency_us: 50       # max_<metric> / min_<metric> for any registry metric
      min_behavior_r2: 0.5
    sampler: cost-aware        # the default; or {name: cost-aware|nsga2|tpe|random|grid|qmc, seed: 0, options: {...}}
    n_trials: 200              # at least one of n_trials and timeout_s
    timeout_s: 86400
    execution: {workers: 1, cpus_per_trial: 1, ray_address: null, max_retries: 1, trial_timeout_s: null,
                prune_trainings: true}   # false: every training runs to its end (dse.trial.pruning)
    hardware: {backend: estimate, part: xcu55c, clock_ns: 5.0}     # default: the family's; the backend
                               # must cost what the family lowers to (dse.cost.registry)

Parameters live in the sections the family declares; ``dse params [--family NAME]`` lists every one with its type, default and meaning, from the
family's own declarations. Each is written in one of three shapes:

- FIXED: a scalar, ``factors: 4``;
- RANGE (numeric parameters): ``{low: 2, high: 16}``, optionally ``log: true`` or ``step: 2``; the
  parameter's type decides int or float; both ends are included; ``high - low`` must be a multiple
  of ``step``; ``log`` needs ``low > 0`` and no ``step``;
- CHOICES: ``{choices: [32, 64]}`` (strings: ``{choices: [latency, resource]}``).

A range with ``low == high`` or a single choice is treated as fixed. Only searched parameters (a
range, or several choices) become Optuna parameters, named by their dotted path
(``model.latent_units``).

Objective directions must agree with the registry (``direction: minimize`` for behavior_r2 is an
error: it would search for the worst designs). Constraint values and the policy for a
missing metric (violated) are defined once, in :mod:`objectives.constraints`.

The grid sampler needs every searched parameter finite (choices, int ranges, float ranges with a
step): its points come from ``SearchSpace.grid_points()`` and are enqueued (see
:mod:`search_spaces.samplers`).

The package has four parts: :mod:`dse.study.schema` (pydantic structure), :mod:`dse.study.load`
(YAML + semantic checks), :mod:`dse.study.config` (the plain frozen dataclasses) and
:mod:`dse.study.storage` (storage URLs and their secrets). Import from here.
"""

from __future__ import annotations

from dse.study.config import (
    Constraint,
    DataConfig,
    ExecutionConfig,
    HardwareConfig,
    ObjectiveConfig,
    SamplerConfig,
    StorageConfig,
    StudyConfig,
    redacted_storage_url,
    storage_url,
)
from dse.study.load import StudyConfigError, load_study, parse_study

__all__ = [
    "Constraint",
    "DataConfig",
    "ExecutionConfig",
    "HardwareConfig",
    "ObjectiveConfig",
    "SamplerConfig",
    "StorageConfig",
    "StudyConfig",
    "StudyConfigError",
    "load_study",
    "parse_study",
    "redacted_storage_url",
    "storage_url",
]
