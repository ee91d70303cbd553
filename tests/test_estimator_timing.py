"""How the estimator turns logic delays into cycles: whole operations packed into clock periods, the
softmax's two table reads, the Latency strategy's folded multiplies, and the fabric speed of the part. Layer
latencies are checked against the per-instance latencies of real csynth reports (the calibration fixtures under
DSE_SHARED_DIR), with the tolerance each test states."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from csynth_instances import latencies_by_kind

from dse.cost.estimator import estimate_specs, make_target
from dse.cost.estimator_layers import Constants, LayerSpec, Target, chained_cycles, cost_layer
from dse.cost.parts import get_part


def test_chained_cycles_never_splits_an_operation() -> None:
    # three 1.9 ns adds at a 2.9 ns period: one per cycle, not ceil(5.7 / 2.9) = 2
    assert chained_cycles([1.9, 1.9, 1.9], 2.9) == 3
    # short operations chain into one period
    assert chained_cycles([1.0] * 4, 5.0) == 1
    assert chained_cycles([1.0] * 6, 5.0) == 2
    # an operation longer than the period takes its own cycles; what follows starts after it
    assert chained_cycles([7.0, 1.0], 5.0) == 3
    assert chained_cycles([1.0, 7.0], 5.0) == 3
    assert chained_cycles([], 5.0) == 0
    # never fewer cycles than the total delay over the period
    for delays, clock in (([2.0, 1.25, 1.25, 1.25], 3.0), ([0.6] * 9, 2.5), ([3.1, 3.1, 0.2], 3.3)):
        assert chained_cycles(delays, clock) >= math.ceil(sum(delays) / clock)


def _row_layers(shared: Path, case: str) -> tuple[list[LayerSpec], Target, dict[str, list[int]]]:
    """A calibration row's layers as the estimator sees them (from the row's firmware columns), its target, and
    the latencies its report gives them."""
    from dse.cost import calibration

    r = calibration.load_reported(shared)[case]
    specs = calibration.extra_row_specs(str(r["model"]), str(r["precision"]), int(str(r["reuse_factor"])))
    part = str(r["part"]).split("-")[0]
    clock = float(r["clock_target_ns"])
    unc = calibration.report_clock_uncertainty(case, str(r["path"]), clock, shared)
    target = make_target(calibration.PART_ALIASES.get(part, part), clock, specs=specs, clock_uncertainty=unc)
    rpt = next((shared / "fixtures" / "hls_reports_extra" / case).glob("*_csynth.rpt"))
    return specs, target, latencies_by_kind(rpt, ("dense", "softmax"))


def _estimated(specs: list[LayerSpec], target: Target, kind: str) -> list[int]:
    return [cost_layer(s, target).latency for s in specs if s.kind == kind]


#: Stock hls4ml MLPs at 3.33 ns with reuse factor 1 or 2 and no forced multiplier implementation (ArgyKokk, Vitis
#: HLS 2021.1, xc7z007s); their per-layer latencies are what the dense adder tree and the softmax cost at a clock
#: close to the adder delay.
FAST_CLOCK_ROWS = ("new2_12", "new2_13", "new2_24", "new2_25", "new2_36")


def test_dense_depth_at_a_fast_clock_matches_the_reports(shared_dir: Path) -> None:
    """Each dense layer's estimated latency is within 4 cycles of its instance in the real report, never under
    it. The constants refitted in every cross-validation fold (operator delays included) over-predict these
    shallow layers by 1-4 cycles (11 vs 8 for new2_12's first layer); the constants read off these reports
    before the refit were within 1 cycle, in-sample. The tolerance states today's error: a change that moves
    the estimate further away fails here."""
    for case in FAST_CLOCK_ROWS:
        specs, target, reported = _row_layers(shared_dir, case)
        estimated = _estimated(specs, target, "dense")
        assert len(estimated) == len(reported["dense"]), case
        for est, rep in zip(estimated, reported["dense"], strict=True):
            assert 0 <= est - rep <= 4, (case, estimated, reported["dense"])


def test_softmax_at_a_fast_clock_against_the_reports(shared_dir: Path) -> None:
    """hls4ml's softmax_stable at 3.33 ns: the reports give 10-18 cycles. The estimate (its table reads whole
    operations) under-predicts them by up to 56 % today (8 vs 18 cycles, new2_12); the tolerance of 60 % states
    that error, it is no claim of accuracy: a change that moves the estimate further away fails here."""
    for case in FAST_CLOCK_ROWS:
        specs, target, reported = _row_layers(shared_dir, case)
        (est,), (rep,) = _estimated(specs, target, "softmax"), reported["softmax"]
        assert est == pytest.approx(rep, rel=0.6), (case, est, rep)


def test_folded_latency_strategy_against_the_reports(shared_dir: Path) -> None:
    """Latency strategy at reuse factor 100 (ArgyKokk new2_20, new2_26, new2_37: the rows without a forced
    multiplier implementation). Layers with at most 128 products (the reuse factor caps the multipliers to one
    or two): within 3 cycles of the report (today: 1-3). The wide layers of new2_37 (160-2048 products): within a
    factor 2 (today +88 % to -24 %), a bound on the estimator's stated weakness there, not accuracy."""
    checked = 0
    for case in ("new2_20", "new2_26", "new2_37"):
        specs, target, reported = _row_layers(shared_dir, case)
        dense = [s for s in specs if s.kind == "dense"]
        estimated = _estimated(specs, target, "dense")
        assert len(estimated) == len(reported["dense"]), case
        for spec, est, rep in zip(dense, estimated, reported["dense"], strict=True):
            assert spec.reuse_factor == 100, case
            if spec.n_in * spec.n_out <= 128:
                assert abs(est - rep) <= 3, (case, spec.n_in, spec.n_out, est, rep)
            else:
                assert rep / 2 <= est <= 2 * rep, (case, spec.n_in, spec.n_out, est, rep)
            checked += 1
    assert checked == 9


def test_artix7_fabric_scales_the_delays() -> None:
    """Parts on the Artix-7 fabric (Zynq-7000 7z007s..7z020, Artix-7) carry ``fabric='artix7'`` into the
    target; ``artix7_delay_scale`` then lengthens their delays and no one else's."""
    assert get_part("xc7z020").fabric == get_part("xc7a35t").fabric == "artix7"
    assert get_part("xc7vx690t").fabric == get_part("xcu250").fabric == ""
    assert make_target("xc7z020-clg400-1", 5.0).fabric == "artix7"
    specs = [LayerSpec("d", "dense", n_in=64, n_out=32), LayerSpec("s", "softmax", n_in=10, n_out=10)]
    slow = replace(Constants(), artix7_delay_scale=2.0)
    for part, moves in (("xc7z020", True), ("xc7vx690t", False), ("xcu250", False)):
        base = estimate_specs(specs, part=part, clock_ns=5.0).latency_cycles
        scaled = estimate_specs(specs, part=part, clock_ns=5.0, consts=slow).latency_cycles
        assert (scaled > base) is moves, part
