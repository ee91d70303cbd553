"""The few things the driver needs from Optuna that its public API does not offer, in one place.

Optuna's storages speak in trial and study ids, which ``Trial``/``FrozenTrial``/``Study`` keep in private
attributes, and its stale-trial query is private too (it is what ``optuna.storages.fail_stale_trials``
runs). Everything else in dse uses the public API, so an Optuna upgrade that moves these is mended here.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna

log = logging.getLogger(__name__)


def trial_id(trial: optuna.trial.Trial | optuna.trial.FrozenTrial) -> int:
    """The storage's id of ``trial`` (what ``record_heartbeat``, ``get_trial`` and dse's tables key on)."""
    return int(trial._trial_id)


def study_id(study: optuna.Study) -> int:
    return int(study._study_id)


def stale_trial_ids(storage: Any, study: optuna.Study) -> set[int] | None:
    """Ids of RUNNING trials whose heartbeat is older than the storage's grace period; None where this
    Optuna has no such query (its ``fail_stale_trials`` then fails them without a reason)."""
    get = getattr(storage, "_get_stale_trial_ids", None)
    if get is None:
        return None
    try:
        return set(get(study_id(study)))
    except Exception as e:
        log.warning("could not look for stale trials: %s: %s", type(e).__name__, e)
        return set()
