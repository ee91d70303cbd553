"""Cross-validated error of the estimator by layer family -- GENERATED, do not edit.

Written by ``python bench/estimator_fidelity.py``: the nested leave-one-repository-out median |relative
error| per family (recurrent / dense / ... / all) and metric over the calibration rows that claim the
metric; see bench/results/estimator_fidelity.md.  Read by ``dse.cost.estimator.uncertainty``.

command: `python bench/estimator_fidelity.py`
date: 2026-12-07 12:25 UTC, commit 6e4ccab
"""

LORO_MEDIAN_REL_ERR: dict[str, dict[str, float]] = {
    "all": {
        "bram": 0.0108,
        "dsp": 0.0845,
        "ff": 0.6259,
        "latency": 0.5278,
        "lut": 0.5549
    },
    "dense": {
        "bram": 0.2,
        "dsp": 0.3004,
        "ff": 0.5847,
        "latency": 0.5906,
        "lut": 0.6733
    },
    "recurrent": {
        "bram": 0.0,
        "dsp": 0.0303,
        "ff": 3.1747,
        "latency": 0.0462,
        "lut": 0.3839
    }
}
