"""The model-family interface: a family is one folder + one registry line (or an installed package:
test_plugins.py; that the core knows none of them: test_layers.py), the LFADS family computes what it
computed before the redesign, and old databases still open."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from reliability_helpers import dse, tiny_study_dict, write_study

from dse.study import StudyConfigError, parse_study

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: Tolerances of trained results pinned in fixtures (see the objectives test): the bit-accurate C simulation's
#: metrics, and the float model's (float32 inference on another CPU's kernels).
RELATIVE = 1e-9
FLOAT_RELATIVE = 1e-4


def test_registry_lists_the_built_in_families_and_the_test_family_is_a_worked_example():
    import importlib

    from dse.families import BUILT_IN, family_names, get_family

    assert family_names() == sorted(importlib.import_module(m).FAMILY.name for m in BUILT_IN)
    tiny = get_family("tiny")
    assert (REPO / "dse" / "families" / "tiny" / "__init__.py").is_file()
    assert tiny.lowering == "analytic" and tiny.metrics and tiny.params
    with pytest.raises(KeyError, match="unknown model family 'nope'; known: .*lfads"):
        get_family("nope")


def test_cost_backends_describe_themselves():
    from dse.cost.registry import backend_class, backend_names

    assert set(backend_names(costs="hls4ml")) == {"estimate", "vitis", "vivado"}
    assert backend_names(costs="analytic") == ["analytic"]
    assert backend_names(costs="hdl") == ["hdl-estimate", "yosys"]
    assert backend_class("yosys").ray_resource() == "ghdl"
    assert backend_class("estimate").ray_resource() is None
    assert backend_class("vitis").ray_resource() == "vitis-run"  # a cluster routes such trials to tool nodes
    assert backend_class("vivado").ray_resource() == "vivado_hls"


def _study_text(**changes) -> str:
    return yaml.safe_dump(tiny_study_dict("t", **changes), sort_keys=False)


def test_a_backend_that_cannot_cost_the_family_is_refused_in_one_line():
    with pytest.raises(StudyConfigError) as e:
        parse_study(_study_text(hardware={"backend": "estimate"}), where="s.yaml")
    assert str(e.value).splitlines() == [
        "s.yaml: hardware.backend: 'estimate' costs hls4ml designs, but family 'tiny' lowers to analytic "
        "(use one of: analytic) [line 47]"]


def test_an_accuracy_metric_the_family_does_not_measure_is_refused():
    with pytest.raises(StudyConfigError, match="objectives\\[0\\]: family 'tiny' does not measure 'npll'"):
        parse_study(_study_text(objectives=["npll", "lut"]), where="s.yaml")


def test_family_defaults_fill_the_hardware_section():
    cfg = parse_study(_study_text(), where="s.yaml")
    assert (cfg.hardware.backend, cfg.hardware.part, cfg.hardware.clock_ns) == ("analytic", "xc7z020", 10.0)
    lfads = parse_study("name: a\nobjectives: [behavior_r2]\nn_trials: 1\n", where="a.yaml")
    assert lfads.family == "lfads" and lfads.hardware.backend == "estimate"  # files without `family:` unchanged


def test_tiny_study_end_to_end(tmp_path):
    """dse run (real local Ray, real SQLite), status, pareto, export: the service on the test family."""
    write_study(tmp_path, tiny_study_dict("tinye2e", n_trials=4, execution={"workers": 2}))
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "4 complete" in r.stdout
    rows = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=tmp_path).stdout)
    assert rows and all(row["behavior_r2"] is not None and row["lut"] > 0 for row in rows)
    assert "Pareto front" in dse("status", "study.yaml", cwd=tmp_path).stdout
    out = tmp_path / "export"
    r = dse("export", "study.yaml", "--trial", str(rows[0]["number"]), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {p.name for p in out.iterdir()} >= {"weights.json", "README.md", "design.json", "reports"}
    assert json.loads((out / "design.json").read_text())["family"] == "tiny"


@pytest.mark.slow
def test_lfads_objectives_are_those_of_the_code_before_the_redesign(tmp_path):
    """The fixed-seed PTQ and QAT designs of tests/fixtures/pinned_study.yaml give the accuracy that the
    pre-redesign code (commit 526cdda) measured: the bit-accurate C simulation within 1e-9 relative, the float
    model within 1e-4 (float32 kernels differ between CPUs).
    The hardware objectives come from the estimator, which has changed since on purpose (a Bidirectional
    layer's directions now overlap, as hls4ml's template runs them); they are not pinned but checked against
    what follows from the study and the trained model without the estimator: the latency in us from the cycles
    and the study's clock, each utilisation from the Alveo U55C's data-sheet resources, and the DSPs and
    cycles within bounds counted from the model's weights and bins."""
    from dse.study import load_study
    from dse.trial.runner import run_trial
    from dse.trial.spec import TrialSpec

    pinned = json.loads((FIXTURES / "lfads_pinned_objectives.json").read_text())["designs"]
    cfg = load_study(FIXTURES / "pinned_study.yaml")
    for mode, want in pinned.items():
        design = cfg.search_space().design_point({"quantization.mode": mode})
        spec = TrialSpec("pin", 0, design, cfg.data.spec(), cfg.objective_names, str(tmp_path / f"w-{mode}"),
                         str(tmp_path / "m"), str(tmp_path / "h"), max_utilisation=1.0, pruning={"enabled": False})
        r = run_trial(spec)
        assert r.status == "complete", r.fail_reason
        from dse.cost.base import HARDWARE_METRICS

        # Same seeds, same code: equal up to the last bits of the float reductions, which differ between
        # machines of the same kind (another CPU's BLAS kernels); 1e-9 relative is far below any real change.
        accuracy = {k: v for k, v in r.objectives.items() if k in r.accuracy["csim"]}
        assert accuracy == pytest.approx({k: v for k, v in want["objectives"].items() if k in accuracy},
                                         rel=RELATIVE), mode
        assert set(accuracy) == set(want["objectives"]) - set(HARDWARE_METRICS) - {
            k for k in want["objectives"] if k.endswith("_util")}, mode
        # the float model's metrics differ more between CPUs: on the AMD EPYC development machine of 2026-12-07
        # behaviour R² (trial form) came out 3.5e-6 relative from the pinned value, the other metrics <= 4e-8,
        # the same in a fresh process and after other tests (not a thread-count effect); 1e-4 still catches
        # any change of the model, recipe or metrics (those move these numbers by far more than 1e-3)
        assert r.accuracy["float"] == pytest.approx(want["float"], rel=FLOAT_RELATIVE), mode
        _check_hardware_independently(r, cfg, design, mode)


#: The Alveo U55C's resources from AMD's data sheet (DS978: 9,024 DSP slices, 1,304K LUTs, 2,607K registers,
#: 2,016 36-Kb block RAMs), not from dse's part table.
U55C = {"dsp": 9024, "lut": 1_303_680, "ff": 2_607_360, "bram_18k": 2 * 2016}


def _check_hardware_independently(result, cfg, design: dict, mode: str) -> None:
    """The trial's hardware objectives against values computed here from the study and the trained model, not
    by the estimator: latency_us = cycles x the study's clock; utilisation = count / the data-sheet total; at
    reuse factor 1 no design needs more DSPs than it has products per inference (every kernel weight used at
    most once per bin), and the two recurrences (encoder, then generator) take at least one cycle per bin each."""
    from dse.families.lfads.pipeline import load_model

    o = result.objectives
    assert {"latency_us", "latency_cycles", "lut", "dsp"} <= set(o), mode
    hls = design["hls"]
    assert cfg.hardware.part == "xcu55c" and hls["reuse_factor"] == 1 and not hls["layer_reuse_factor"] \
        and not hls["recurrent_reuse_factor"], "the bounds below assume the U55C and reuse factor 1"
    assert o["latency_us"] == pytest.approx(o["latency_cycles"] * cfg.hardware.clock_ns / 1000, rel=1e-12), mode
    for resource, total in U55C.items():
        util = {"bram_18k": "bram_util"}.get(resource, f"{resource}_util")
        assert o[util] == pytest.approx(o[resource] / total, rel=1e-12), (mode, resource)
    n_bins = cfg.data.options["n_bins"]
    model = load_model(next(Path(a.path) for a in result.artifacts if a.kind == "model"))
    kernel_weights = sum(int(w.shape.num_elements()) for w in model.weights if "kernel" in w.name)
    assert kernel_weights > 0, mode
    assert 0 < o["dsp"] <= kernel_weights * n_bins, (mode, o["dsp"], kernel_weights)
    assert o["latency_cycles"] >= 2 * n_bins, mode


@pytest.mark.slow
def test_a_database_written_before_the_redesign_opens_and_resumes(tmp_path):
    """A study database made by commit 526cdda (2 complete LFADS trials): status and pareto read it, and
    `dse run` with a larger n_trials resumes it, keeping the old trials."""
    shutil.copy(FIXTURES / "oldschema_526cdda.db", tmp_path / "oldschema.db")
    study = yaml.safe_load((FIXTURES / "oldschema_study.yaml").read_text())
    write_study(tmp_path, study)
    r = dse("status", "study.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "complete 2" in r.stdout, r.stdout + r.stderr[-2000:]
    before = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=tmp_path).stdout)
    assert len(before) == 2
    study["n_trials"] = 3
    write_study(tmp_path, study)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    import optuna

    s = optuna.load_study(study_name="oldschema", storage=f"sqlite:///{tmp_path / 'oldschema.db'}")
    assert all(t.state.name == "COMPLETE" for t in s.trials)
    # 3 design points; the resumed sampler (same seed) may first re-propose the old points: those repeats
    # take the old trials' results and are not counted (objectives.designs)
    assert len([t for t in s.trials if t.user_attrs.get("duplicate_of") is None]) == 3
    old = {row["number"]: row["behavior_r2"] for row in before}
    assert all(s.trials[n].values[0] == v for n, v in old.items())  # the old trials kept as they were
