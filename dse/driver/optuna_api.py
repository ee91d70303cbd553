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


def asked_trial(trial: optuna.trial.Trial) -> optuna.trial.FrozenTrial:
    """The frozen trial a running ``trial`` keeps from its ask (its params and attrs as set through it since),
    without reading the storage again."""
    return trial._cached_frozen_trial


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


def _rdb_backend(storage: Any) -> Any:
    """The ``RDBStorage`` behind ``storage`` (Optuna wraps it in a ``_CachedStorage``), or None."""
    backend = getattr(storage, "_backend", storage)
    ok = isinstance(backend, optuna.storages.RDBStorage) and hasattr(backend, "_set_trial_attr_without_commit")
    return backend if ok else None


def set_user_attrs(trial: optuna.trial.Trial, attrs: dict[str, Any]) -> None:
    """``trial.set_user_attr(k, v)`` for every item of ``attrs``, in one database transaction.

    ``Trial.set_user_attr`` commits each attribute on its own: a finished trial's ~20 attributes cost
    ~20 commits (each a disk sync on SQLite), the largest part of the driver's fixed cost per trial.
    Where the storage is not Optuna's RDB storage (or this Optuna lacks the method), one call per item.
    """
    if not attrs:
        return
    rdb = _rdb_backend(trial.storage)
    if rdb is None:
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        return
    import json

    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    tid = trial_id(trial)
    Attr = models.TrialUserAttributeModel
    with _create_scoped_session(rdb.scoped_session, True) as session:
        rdb.check_trial_is_updatable(tid, models.TrialModel.find_or_raise_by_id(tid, session).state)
        rows = {a.key: a for a in session.query(Attr).filter(Attr.trial_id == tid, Attr.key.in_(list(attrs)))}
        for k, v in attrs.items():
            if k in rows:
                rows[k].value_json = json.dumps(v)
            else:
                session.add(Attr(trial_id=tid, key=k, value_json=json.dumps(v)))
    trial._cached_frozen_trial.user_attrs.update(attrs)  # what Trial.set_user_attr keeps for trial.user_attrs


def save_trial_note(trial: optuna.trial.Trial, body: str) -> None:
    """optuna-dashboard's ``save_note(trial, body)`` in one transaction that reads only this trial's note.

    optuna-dashboard keeps notes in the study's system attributes and its ``save_note`` reads all of them
    (every trial's note) twice per call, then commits each chunk on its own: O(trials) per note, O(trials²)
    per study. The same keys and values are written here (note version + 1, the body in chunks, stale
    chunks blanked), so the dashboard reads them as its own.
    """
    from optuna_dashboard._note import note_str_key_prefix, note_ver_key, split_body

    rdb = _rdb_backend(trial.storage)
    if rdb is None:
        from optuna_dashboard import save_note

        save_note(trial, body)
        return
    import json

    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    sid, tid = study_id(trial.study), trial_id(trial)
    Attr = models.StudySystemAttributeModel
    prefix = f"dashboard:{tid}:"  # the version key and the chunks; ';' is the character after ':'
    with _create_scoped_session(rdb.scoped_session, True) as session:
        rows = {a.key: a for a in session.query(Attr).filter(Attr.study_id == sid, Attr.key >= prefix,
                                                             Attr.key < f"dashboard:{tid};")}
        old = rows.get(note_ver_key(tid))
        values: dict[str, Any] = {note_ver_key(tid): (json.loads(old.value_json) if old is not None else 0) + 1}
        values.update(split_body(body, tid))
        for key in rows:  # chunks of a longer earlier note
            if key.startswith(note_str_key_prefix(tid)) and key not in values:
                values[key] = ""
        for key, value in values.items():
            row = rows.get(key)
            if row is None:
                session.add(Attr(study_id=sid, key=key, value_json=json.dumps(value)))
            else:
                row.value_json = json.dumps(value)
