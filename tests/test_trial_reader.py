"""The views' fast trial read (storage.trial_reader) against Optuna's own ``get_trials`` on real databases
(SQLite; PostgreSQL with DSE_TEST_POSTGRES_URL), the batched result load, and the sort-based front against
the definition of dominance."""

from __future__ import annotations

import math
import os
import uuid

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from storage_helpers import failed_result, full_result

from objectives.pareto import nondominated
from storage import open_storage
from storage.errors import StorageConfigError
from storage.trial_reader import read_trials

optuna.logging.set_verbosity(optuna.logging.WARNING)

DISTS = {"model.lags": CategoricalDistribution([1, 2, "three", None, 2.5]),
         "model.ridge": FloatDistribution(0.01, 100.0, log=True),
         "hdl.reuse_factor": IntDistribution(1, 128, step=1),
         "quantization.bits": FloatDistribution(4, 16, step=2)}


def _url(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    url = os.environ.get("DSE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DSE_TEST_POSTGRES_URL is not set (as root: eval \"$(CI=true bash .ci/postgres.sh)\")")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def st_study(request, tmp_path):
    try:
        st = open_storage(_url(request.param, tmp_path))
    except StorageConfigError as e:
        pytest.skip(f"no PostgreSQL server at DSE_TEST_POSTGRES_URL: {e}")
    name = f"reader-{uuid.uuid4().hex[:10]}"
    study = optuna.create_study(study_name=name, storage=st.optuna, directions=["maximize", "minimize", "minimize"])
    rng = np.random.default_rng(3)
    trials = []
    for i in range(60):
        state = [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED][i % 4]
        params = {"model.lags": [1, 2, "three", None, 2.5][i % 5], "model.ridge": float(10 ** rng.uniform(-2, 2)),
                  "quantization.bits": float(4 + 2 * (i % 7))}
        if i % 3:
            params["hdl.reuse_factor"] = int(rng.integers(1, 129))
        values = None
        if state == TrialState.COMPLETE:
            values = [float(rng.random()), math.inf if i % 8 == 0 else float(rng.random()),
                      -math.inf if i % 12 == 1 else float(rng.integers(0, 5000))]
        attrs = {"constraints": [float(rng.normal()), -1.0], "design": {"nested": [1, {"a": None}], "s": "x,y"},
                 "fail_reason": "boom, \"quoted\"" if state == TrialState.FAIL else None, "lut": int(i * 7),
                 "empty": {}, "text": "[1, 2]"}
        if i % 10 == 9:
            attrs["duplicate_of"] = i - 9
        trials.append(create_trial(state=state, values=values, params={k: params[k] for k in params},
                                   distributions={k: DISTS[k] for k in params}, user_attrs=attrs,
                                   system_attrs={"artifacts:x": {"k": i}} if i % 2 else {}))
    study.add_trials(trials)
    running = study.ask({"model.ridge": DISTS["model.ridge"]})  # a RUNNING trial without values
    running.set_user_attr("worker", "w1")
    yield st, study
    st.delete_study(name)
    st.close()


def _comparable(t: optuna.trial.FrozenTrial) -> tuple:
    return (t.number, t.state, t.values, t.params, t.distributions, t.user_attrs, t.datetime_start,
            t.datetime_complete, t._trial_id)


def test_read_trials_equals_optunas_get_trials(st_study):
    st, study = st_study
    expected = study.get_trials(deepcopy=False)
    got = read_trials(st.project.engine, study.study_name)
    assert [_comparable(t) for t in got] == [_comparable(t) for t in expected]
    assert all(t.system_attrs == {} and t.intermediate_values == {} for t in got)  # not read, as documented
    assert any(t.values and math.isinf(t.values[1]) for t in got)  # infinities kept (Optuna's value types)


def test_read_trials_filters_states_and_user_attrs(st_study):
    st, study = st_study
    states = (TrialState.COMPLETE, TrialState.RUNNING)
    expected = study.get_trials(deepcopy=False, states=states)
    got = st.read_trials(study.study_name, states=states, user_attrs=("duplicate_of", "constraints", "nope"))
    assert [t.number for t in got] == [t.number for t in expected]
    for g, e in zip(got, expected, strict=True):
        assert g.user_attrs == {k: v for k, v in e.user_attrs.items() if k in ("duplicate_of", "constraints")}
        assert (g.params, g.values) == (e.params, e.values)
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    some = st.read_trials(study.study_name, numbers=(3, 0, 59, 60, 999))  # 60 is the RUNNING one, 999 absent
    assert [_comparable(t) for t in some] == [_comparable(by_number[n]) for n in (0, 3, 59, 60)]
    assert [t.number for t in st.read_trials(study.study_name, states=(TrialState.FAIL,), numbers=(1, 2, 6))] == [2, 6]


def test_read_trials_of_a_missing_study_is_a_key_error(st_study):
    st, _ = st_study
    with pytest.raises(KeyError):
        read_trials(st.project.engine, "no-such-study")


def test_load_results_equals_one_by_one(tmp_path):
    st = open_storage(f"sqlite:///{tmp_path / 'r.db'}")
    for n in range(7):
        st.project.save_result("s", 100 + n, n, full_result() if n % 3 else failed_result())
    want = {n: st.project.load_result("s", n) for n in range(7)}
    assert st.project.load_results("s", [6, 0, 3, 3, 42]) == {n: want[n] for n in (0, 3, 6)}
    assert st.project.load_results("s", []) == {}
    st.close()


def _dominated_by_any(v: np.ndarray) -> np.ndarray:
    """The definition, pair by pair: row i is dominated if some row is <= everywhere and < somewhere."""
    return np.array([any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in range(len(v)))
                     for i in range(len(v))], dtype=bool)


def test_nondominated_matches_the_definition_with_ties_and_infinities():
    rng = np.random.default_rng(0)
    for _ in range(400):
        n, m = int(rng.integers(0, 40)), int(rng.integers(1, 5))
        v = rng.integers(0, 4, size=(n, m)).astype(float)  # few levels: many ties and equal rows
        v[rng.random(v.shape) < 0.05] = np.inf
        v[rng.random(v.shape) < 0.05] = -np.inf
        assert np.array_equal(nondominated(v), ~_dominated_by_any(v))
    assert nondominated(np.zeros((0, 3))).shape == (0,)


@pytest.mark.parametrize("clock_est_ns", [None, 4.2])
def test_every_backends_source_reads_only_its_declared_keys(clock_est_ns):
    """The views label a trial from the user attributes they read (backend + CostBackend.source_keys): for
    every registered backend the label from those keys alone equals the label from the whole report."""
    from dse.cost.base import HardwareReport
    from dse.cost.registry import backend_names, hardware_source, source_keys

    keys = source_keys()
    for name in backend_names():
        report = HardwareReport(backend=name, part="xc7a100t", clock_ns=10.0, latency_cycles=9, latency_cycles_best=9,
                                ii_cycles=1, dsp=1, lut=2, ff=3, bram_18k=4, clock_est_ns=clock_est_ns,
                                tool_version="t", details={"checks": {"latch_free": True}}).to_dict()
        assert hardware_source({k: v for k, v in report.items() if k in keys}) == hardware_source(report), name
