"""Cross-validated error of the estimator by layer family -- GENERATED, do not edit.

Written by ``python bench/estimator_fidelity.py``: the leave-one-repository-out median |relative
error| per family (recurrent / dense / ... / all) and metric over the calibration rows that claim the
metric; see bench/results/estimator_fidelity.md.  Read by ``dse.cost.estimator.uncertainty``.

command: `python bench/estimator_fidelity.py --no-ablation --no-paper`
machine: 2 cores (AMD EPYC), Python 3.11.7
date: 2026-11-29 15:43 UTC, commit 8d093d8
load average at the end (1/5/15 min): 1.66 0.75 0.33
"""

LORO_MEDIAN_REL_ERR: dict[str, dict[str, float]] = {
    "all": {
        "bram": 0.0108,
        "dsp": 0.0845,
        "ff": 0.8844,
        "latency": 0.5,
        "lut": 0.404
    },
    "dense": {
        "bram": 0.2,
        "dsp": 0.1781,
        "ff": 0.7587,
        "latency": 0.5743,
        "lut": 0.404
    },
    "recurrent": {
        "bram": 0.0,
        "dsp": 0.0303,
        "ff": 3.4118,
        "latency": 0.0462,
        "lut": 0.4096
    }
}
