"""dse.cost.calibration (reading the calibration reports, rebuilding their designs) and dse.cost.estimator_fit
(comparison, fit, leave-one-repository-out) on small hand-made rows whose right answers are worked out by
hand; the fit on the real calibration rows is in tests/test_estimator.py."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dse.cost import calibration, estimator_fit
from dse.cost.calibration import Built, Row
from dse.cost.estimator_fit import Comparison
from dse.cost.estimator_layers import LayerSpec
from dse.errors import UserInputError

# ------------------------------------------------------------------------------------------- reading


def _write_shared(root: Path) -> Path:
    cols = "case,repo,path,part,clock_target_ns,model,precision,reuse_factor,latency_worst,DSP,LUT,FF,BRAM_18K"
    (root / "calibration").mkdir(parents=True)
    (root / "calibration" / "hls_reports.csv").write_text(
        f"{cols}\ncase99,a/one,prj/syn/report/myproject_csynth.rpt,xcu250,5,GRU,\"ap_fixed<16,6>\",30,100,10,1000,"
        "2000,4\n")
    (root / "calibration" / "hls_reports_extra.csv").write_text(
        f"{cols}\nnew2_99,b/two,x.rpt,xc7z020-clg400-1,10,\"Dense 16->8 [RF2] -> ReLU -> Dense 8->4\","
        "\"in ap_fixed<8,2>; w ap_fixed<6,1>; out ap_fixed<12,4>/ap_ufixed<5,0>; acc ap_fixed<20,8>\",02,50,0,"
        "900,700,0\n")
    tcl = root / "fixtures" / "hls_reports_extra" / "new2_99"
    tcl.mkdir(parents=True)
    (tcl / "prj__build_prj.tcl").write_text("open_project p\n  config_op mul -impl dsp\ncsynth_design\n")
    xml = root / "fixtures" / "hls_reports" / "case99"
    xml.mkdir(parents=True)
    (xml / "prj__myproject_csynth.xml").write_text(
        "<profile><UserAssignments><ClockUncertainty>0.62</ClockUncertainty></UserAssignments></profile>")
    return root


def test_reports_are_read_from_the_shared_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = _write_shared(tmp_path / "shared")
    monkeypatch.setenv("DSE_SHARED_DIR", str(shared))
    assert calibration.shared_dir() == shared
    reported = calibration.load_reported()
    assert sorted(reported) == ["case99", "new2_99"]
    assert reported["new2_99"]["reuse_factor"] == "02"  # read as text: the column mixes "30" and "70/64"
    assert calibration.mult_impl("new2_99") == "dsp" and calibration.mult_impl("new2_00") is None
    assert calibration.report_clock_uncertainty("case99", "prj/syn/report/myproject_csynth.rpt", 5.0) == \
        pytest.approx(0.62 / 5.0)
    assert calibration.report_clock_uncertainty("case99", "other.rpt", 5.0) is None


def test_a_missing_shared_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"calibration/hls_reports.csv: calibration report not found .*"
                                             "DSE_SHARED_DIR"):
        calibration.load_reported(tmp_path)


def test_extra_row_keeps_what_its_tcl_forces(tmp_path: Path) -> None:
    """``config_op mul -impl dsp`` binds every multiply to DSPs, which hls4ml never does: the row claims
    latency and BRAM only, and its part is the CSV's without the package/speed suffix."""
    shared = _write_shared(tmp_path / "shared")
    (row,) = calibration.extra_rows(calibration.load_reported(shared), shared)
    assert (row.case, row.part, row.clock_ns, row.reuse_factor) == ("new2_99", "xc7z020", 10.0, 2)
    assert row.claims == ("latency", "bram") and "config_op mul -impl dsp" in row.why_not
    assert [s.kind for s in row.specs()] == ["dense", "activation", "dense"]


def test_firmware_columns_become_layer_specs() -> None:
    """in 8 bits, weights 6, Dense results 12, ReLU outputs 5, accumulators 20; [RFn] and [k zero w]
    per Dense; a Dense without [RF] takes the row's reuse factor."""
    specs = calibration.extra_row_specs(
        "Dense 16->8 [RF2] [3 zero w] -> ReLU -> Dense 8->4 -> Softmax",
        "in ap_fixed<8,2>; w ap_fixed<6,1>; out ap_fixed<12,4>/ap_ufixed<5,0>; acc ap_fixed<20,8>", 4)
    d1, relu, d2, soft = specs
    assert (d1.kind, d1.n_in, d1.n_out, d1.reuse_factor, d1.n_zeros) == ("dense", 16, 8, 2, 3)
    assert (d1.data_bits, d1.weight_bits, d1.accum_bits, d1.result_bits) == (8, 6, 20, 12)
    assert (relu.kind, relu.activation, relu.data_bits, relu.result_bits) == ("activation", "relu", 12, 5)
    assert (d2.n_in, d2.n_out, d2.reuse_factor, d2.n_zeros, d2.data_bits) == (8, 4, 4, 0, 5)
    assert (soft.kind, soft.n_in, soft.data_bits) == ("softmax", 4, 12)
    with pytest.raises(ValueError, match="unknown layer 'Conv9D'"):
        calibration.extra_row_specs("Conv9D", "in ap_fixed<8,2>", 1)


def test_every_row_of_both_csvs_has_a_definition(shared_dir: Path) -> None:
    reported = calibration.load_reported(shared_dir)
    rows = calibration.all_rows(reported, shared_dir)
    assert sorted(r.case for r in rows) == sorted(reported)
    assert len(rows) == 14 + 47


# --------------------------------------------------------------------------------------------- comparing


def test_relative_error() -> None:
    assert estimator_fit.rel_err(110, 100) == pytest.approx(0.1)
    assert estimator_fit.rel_err(50, 100) == pytest.approx(-0.5)
    assert estimator_fit.rel_err(0, 0) == 0.0 and estimator_fit.rel_err(3, 0) == math.inf


def _comp(case: str, repo: str, lut_err: float, claims: tuple[str, ...] = ("lut",)) -> Comparison:
    errors = dict.fromkeys(calibration.QUANTITIES, 0.0) | {"lut": lut_err}
    return Comparison(case, "", claims, "", {}, {}, errors, repo=repo, family="dense")


def test_medians_count_only_claimed_finite_errors_and_weigh_repositories_once() -> None:
    comps = [_comp("a1", "A", 0.1), _comp("a2", "A", -0.2), _comp("a3", "A", 0.3), _comp("b1", "B", 0.9),
             _comp("x", "B", 5.0, claims=()), _comp("y", "B", math.inf)]
    assert estimator_fit.medians(comps)["lut"] == (pytest.approx(0.25), 4)  # |0.1|, |0.2|, |0.3|, |0.9|
    assert estimator_fit.medians(comps, "recurrent")["lut"][1] == 0
    # repository A's median is 0.2, B's 0.9: their median is 0.55 (the rows' median would be 0.25)
    assert estimator_fit.repo_weighted_medians(comps)["lut"] == pytest.approx(0.55)


# ------------------------------------------------------------------------------------------------ fitting

#: Every free constant but the DSP fraction of constant-weight products, which the tests below fit.
ALL_BUT_DSP = tuple(p for p in (*estimator_fit.GRID_PARAMS, *estimator_fit.LINEAR_PARAMS,
                                *estimator_fit.FIT_PARAMS) if p != "const_weight_dsp_fraction")


def _dense_row(case: str, repo: str, n_in: int, n_out: int) -> Built:
    """A Latency-strategy, reuse-factor-1 dense of 16-bit weights: every one of its n_in*n_out products is a
    constant-weight product, so its DSPs are n_in*n_out times the fitted fraction."""
    spec = LayerSpec("d", "dense", n_in=n_in, n_out=n_out)
    return Built(Row(case, "xcu55c", 5.0, specs=lambda: [spec], claims=("dsp",)), [spec], None, "test", repo)


def _reported(rows: dict[str, float]) -> dict[str, dict[str, float]]:
    return {case: {"latency_worst": 1, "DSP": dsp, "LUT": 1, "FF": 1, "BRAM_18K": 0} for case, dsp in rows.items()}


def test_fit_recovers_the_dsp_fraction_the_reports_were_made_with() -> None:
    builts = [_dense_row("r1", "A", 64, 32), _dense_row("r2", "A", 16, 16), _dense_row("r3", "B", 10, 20)]
    reported = _reported({"r1": 64 * 32 * 0.6, "r2": 16 * 16 * 0.6, "r3": 10 * 20 * 0.6})
    fitted = estimator_fit.fit(builts, reported, frozen=ALL_BUT_DSP)
    assert fitted.const_weight_dsp_fraction == pytest.approx(0.6)
    # a frozen constant keeps its prior
    assert estimator_fit.fit(builts, reported, frozen=(*ALL_BUT_DSP, "const_weight_dsp_fraction")
                             ).const_weight_dsp_fraction == estimator_fit.PRIORS["const_weight_dsp_fraction"]


def test_leave_one_repository_out_never_fits_on_the_held_out_rows() -> None:
    """Repositories A and B were built at fraction 0.5, C at 0.9: C held out is predicted with 0.5 (its
    DSPs 0.5/0.9 - 1 = -44 % off); A held out is predicted with the median of B's 0.5 and C's 0.9."""
    builts = [_dense_row("a", "A", 64, 32), _dense_row("b", "B", 16, 16), _dense_row("c", "C", 10, 20)]
    reported = _reported({"a": 64 * 32 * 0.5, "b": 16 * 16 * 0.5, "c": 10 * 20 * 0.9})
    held_out, fits = estimator_fit.loro(builts, reported, frozen=ALL_BUT_DSP)
    assert sorted(c.case for c in held_out) == ["a", "b", "c"]
    assert fits["C"].const_weight_dsp_fraction == pytest.approx(0.5)
    assert fits["A"].const_weight_dsp_fraction == pytest.approx(0.7)
    c = next(c for c in held_out if c.case == "c")
    assert c.predicted["dsp"] == 100 and c.errors["dsp"] == pytest.approx(0.5 / 0.9 - 1)
    # in-sample, the fit of all three rows (median 0.5) predicts A and B exactly
    insample = estimator_fit.compare(builts, reported, estimator_fit.fit(builts, reported, frozen=ALL_BUT_DSP))
    assert [round(c.errors["dsp"], 6) for c in insample] == [0.0, 0.0, pytest.approx(0.5 / 0.9 - 1)]


def test_family_table_lists_families_with_rows_and_all() -> None:
    comps = [_comp("a", "A", 0.1), _comp("b", "B", 0.3)]
    assert estimator_fit.family_table(comps) == {"dense": {"lut": 0.2}, "all": {"lut": 0.2}}


def test_nested_loro_never_looks_at_the_held_out_rows() -> None:
    """The held-out repository's reported numbers may change arbitrarily without moving its prediction:
    neither the fitted constants nor the frozen-or-fitted choice of its fold see them."""
    builts = [_dense_row("a", "A", 64, 32), _dense_row("b", "B", 16, 16), _dense_row("c", "C", 10, 20),
              _dense_row("d", "D", 20, 8)]
    base = {"a": 64 * 32 * 0.5, "b": 16 * 16 * 0.6, "c": 10 * 20 * 0.9, "d": 20 * 8 * 0.55}
    for start in ("fitted", "frozen"):
        first, folds = estimator_fit.nested_loro(builts, _reported(base), start=start)
        moved, _ = estimator_fit.nested_loro(builts, _reported(base | {"c": 10 * 20 * 0.1}), start=start)
        pred = {c.case: c.predicted["dsp"] for c in first}
        assert {c.case: c.predicted["dsp"] for c in moved}["c"] == pred["c"]
        assert [f.repo for f in folds] == ["A", "B", "C", "D"]
        assert all(set(f.frozen) <= set(estimator_fit.PRIORS) for f in folds)
    with pytest.raises(ValueError, match="start must be"):
        estimator_fit.select_frozen(builts, _reported(base), start="sideways")
