"""Cross-validated error of the estimator by layer family -- GENERATED, do not edit.

Written by ``python bench/estimator_fidelity.py``: the leave-one-repository-out median |relative
error| per family (recurrent / dense / ... / all) and metric over the calibration rows that claim the
metric; see bench/results/estimator_fidelity.md.  Read by ``dse.cost.estimator.uncertainty``.

command: `python bench/estimator_fidelity.py`
machine: 2 cores (AMD EPYC), Python 3.11.7
date: 2026-12-07 04:31 UTC, commit 2d83eb9
load average at the end (1/5/15 min): 10.06 8.83 5.79
"""

LORO_MEDIAN_REL_ERR: dict[str, dict[str, float]] = {
    "all": {
        "bram": 0.0108,
        "dsp": 0.0845,
        "ff": 0.245,
        "latency": 0.2203,
        "lut": 0.2383
    },
    "dense": {
        "bram": 0.2,
        "dsp": 0.3004,
        "ff": 0.2784,
        "latency": 0.3056,
        "lut": 0.229
    },
    "recurrent": {
        "bram": 0.0,
        "dsp": 0.0303,
        "ff": 0.1372,
        "latency": 0.049,
        "lut": 0.2843
    }
}
