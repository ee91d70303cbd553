"""A fast read of a study's trials for the views (``dse status``, ``pareto``, ``compare``, ``plot``, the
verification queue).

Optuna's ``study.get_trials`` builds one ORM object per row of five tables (params, values, user and system
attributes, intermediate values): about 2 ms per trial of a dse study (~23 user attributes and 2 system
attributes each), so a 10,000-trial study takes 20 s to list, twice per ``dse status``. This module reads the
same rows with four plain SQL queries over Optuna's tables (through Optuna's own table definitions, so a renamed
column fails loudly rather than reading wrong) and builds the :class:`optuna.trial.FrozenTrial` objects with
Optuna's own conversions (values' infinities, parameters' external representation, naive-UTC times shown
as local time), parsing each distinct distribution once.

What it leaves out, on purpose: system attributes and intermediate values (``{}`` in every trial), and, when
asked, the user attributes a view does not read. No view reads the first two; the driver and the samplers keep
using Optuna's storage, which reads everything.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any

from optuna import distributions
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import Engine, select


@lru_cache(maxsize=4096)
def _distribution(text: str) -> distributions.BaseDistribution:
    return distributions.json_to_distribution(text)


def _local(utc: _dt.datetime | None) -> _dt.datetime | None:
    """Optuna's convention (``TrialModel.datetime_start``): stored naive UTC, shown naive local time."""
    if utc is None:
        return None
    return utc.replace(tzinfo=_dt.UTC).astimezone().replace(tzinfo=None)


def read_trials(engine: Engine, study_name: str, states: Iterable[TrialState] | None = None,
                user_attrs: Collection[str] | None = None, numbers: Collection[int] | None = None) -> list[FrozenTrial]:
    """The trials of ``study_name`` by number, as ``study.get_trials(deepcopy=False, states=states)`` gives
    them except for empty ``system_attrs`` and ``intermediate_values``; with ``user_attrs``, only those user
    attributes (a dse trial has ~25: most of a large study's read is theirs); with ``numbers``, only those
    trials. ``KeyError`` if the study does not exist (as Optuna)."""
    trials_t = models.TrialModel.__table__
    values_t = models.TrialValueModel.__table__
    params_t = models.TrialParamModel.__table__
    attrs_t = models.TrialUserAttributeModel.__table__
    studies_t = models.StudyModel.__table__
    with engine.connect() as con:
        if con.dialect.name in ("postgresql", "mysql"):  # one snapshot for the four queries (SQLite's BEGIN is one)
            con.execution_options(isolation_level="REPEATABLE READ")
        study_id = con.execute(select(studies_t.c.study_id).where(studies_t.c.study_name == study_name)).scalar()
        if study_id is None:
            raise KeyError(f"no study named {study_name!r}")
        which = [trials_t.c.study_id == study_id]
        if states is not None:
            which.append(trials_t.c.state.in_(list(states)))
        if numbers is not None:
            which.append(trials_t.c.number.in_(sorted(numbers)))
        rows = con.execute(select(trials_t.c.trial_id, trials_t.c.number, trials_t.c.state,
                                  trials_t.c.datetime_start, trials_t.c.datetime_complete)
                           .where(*which).order_by(trials_t.c.trial_id)).all()
        # the same trials' rows of the other tables, through a subquery (no IN-list limit)
        ids = select(trials_t.c.trial_id).where(*which)
        values: dict[int, dict[int, float]] = defaultdict(dict)
        for tid, objective, value, kind in con.execute(
                select(values_t.c.trial_id, values_t.c.objective, values_t.c.value, values_t.c.value_type)
                .where(values_t.c.trial_id.in_(ids))).all():
            values[tid][objective] = models.TrialValueModel.stored_repr_to_value(value, kind)
        params: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in con.execute(select(params_t.c.trial_id, params_t.c.param_id, params_t.c.param_name,
                                      params_t.c.param_value, params_t.c.distribution_json)
                               .where(params_t.c.trial_id.in_(ids))).all():
            params[row[0]].append(row[1:])
        q = select(attrs_t.c.trial_id, attrs_t.c.key, attrs_t.c.value_json).where(attrs_t.c.trial_id.in_(ids))
        if user_attrs is not None:
            q = q.where(attrs_t.c.key.in_(sorted(user_attrs)))
        attr_rows = con.execute(q.order_by(attrs_t.c.trial_user_attribute_id)).all()
    # One JSON document for all the attribute values: a json.loads call per (mostly tiny) value costs more in
    # the call than in the parsing. A value that is not valid JSON on its own fails alone, as in Optuna.
    try:
        parsed = json.loads("[" + ",".join(r[2] for r in attr_rows) + "]")
        if len(parsed) != len(attr_rows):  # a value such as '1, 2' would shift the rest: parse one by one
            raise ValueError("values run together")
    except ValueError:
        parsed = [json.loads(r[2]) for r in attr_rows]
    attrs: dict[int, dict[str, Any]] = defaultdict(dict)
    for (tid, key, _), value in zip(attr_rows, parsed, strict=True):
        attrs[tid][key] = value
    out = []
    for tid, number, state, start, complete in rows:
        vals = values.get(tid)
        ps = sorted(params.get(tid, ()))  # by param_id, as Optuna
        dists = {name: _distribution(dj) for _, name, _, dj in ps}
        out.append(FrozenTrial(
            number=number, state=state, value=None,
            values=[vals[i] for i in range(len(vals))] if vals else None,
            datetime_start=_local(start), datetime_complete=_local(complete),
            params={name: dists[name].to_external_repr(v) for _, name, v, _ in ps}, distributions=dists,
            user_attrs=attrs.get(tid, {}), system_attrs={}, intermediate_values={}, trial_id=tid))
    return out
