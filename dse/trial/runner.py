"""Run one trial: the generic frame around a family's pipeline (:meth:`dse.families.base.Family.run`).

Everything a trial measures goes into a :class:`~dse.trial.result.TrialResult`; a failure in any
phase becomes ``status="failed"`` with ``"<phase>: <error>"`` as the reason, a design shown infeasible
before training or a hopeless training becomes ``status="pruned"`` -- a trial never raises into the
driver. The family comes from ``spec.design.family`` (written by the search space).
"""

from __future__ import annotations

import functools
import json
import logging
import time
import traceback
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from dse.trial.context import PhaseError, Pruned, TrialContext
from dse.trial.result import TrialResult
from dse.trial.spec import TrialSpec

log = logging.getLogger(__name__)

#: Packages whose versions every trial records, besides its family's (``Family.packages``).
VERSIONED = ("dse", "optuna", "numpy", "ray")


@functools.lru_cache(maxsize=4)
def _load_split(data_json: str):
    from dse.data import load_data, split_data

    d = json.loads(data_json)
    data = load_data(d["source"], **d.get("options", {}))
    return split_data(data, seed=d.get("split_seed", 0))


def load_split(data: dict[str, Any]):
    """The study's data split, loaded once per worker process."""
    return _load_split(json.dumps(data, sort_keys=True))


@functools.cache
def versions(packages: tuple[str, ...] = ()) -> dict[str, str]:
    out = {}
    for pkg in (*VERSIONED, *packages):
        with suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def run_trial(spec: TrialSpec) -> TrialResult:
    """Evaluate one design point with its family's pipeline; never raises (failures and prunes are in
    the result)."""
    from dse.families import get_family

    t_start = time.perf_counter()
    result = TrialResult(params=dict(spec.design.params))
    trial = TrialContext(spec, result)
    try:
        family = get_family(spec.design.family)
        result.versions = versions(family.packages)
        trial.work.mkdir(parents=True, exist_ok=True)
        family.run(trial)
    except Pruned as e:
        result.status, result.fail_reason = "pruned", str(e)
    except PhaseError as e:
        result.status, result.fail_reason = "failed", str(e)
        log.debug("trial %s failed:\n%s", spec.trial_number, "".join(traceback.format_exception(e.error)))
    except Exception as e:  # anything outside a phase (a bug): still a failed trial, not a dead study
        result.status, result.fail_reason = "failed", f"internal: {type(e).__name__}: {e}"
    trial.timings["total"] = time.perf_counter() - t_start
    result.timings = {k: round(v, 4) for k, v in trial.timings.items()}
    with suppress(OSError):
        (trial.work / "result.json").write_text(json.dumps(result.to_dict(), indent=1, default=str))
    return result
