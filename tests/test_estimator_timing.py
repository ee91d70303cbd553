"""How the estimator turns logic delays into cycles: whole operations packed into clock periods, the
softmax's two table reads, the Latency strategy's folded multiplies, and the fabric speed of the part."""

from __future__ import annotations

import math
from dataclasses import replace

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


def test_dense_depth_is_packed_not_divided() -> None:
    """At a clock close to the adder delay the tree takes a level per cycle (ArgyKokk's 3.33 ns rows)."""
    c = Constants()
    target = Target(family="7series", clock_ns=3.33, clock_uncertainty=0.125, consts=c)
    spec = LayerSpec("d", "dense", n_in=64, n_out=32)
    levels = 6
    expected = chained_cycles([c.mult_delay_ns] + [c.adder_level_ns] * levels, 3.33)
    assert cost_layer(spec, target).latency == expected
    assert expected > math.ceil((c.mult_delay_ns + levels * c.adder_level_ns) / 3.33)


def test_softmax_table_reads_are_whole_operations() -> None:
    """The exp and inverse table reads sit on either side of the sum tree and cannot straddle a register:
    at 3.33 ns (7-series) the softmax of 16 takes more cycles than its total delay over the period."""
    c = Constants()
    target = Target(family="7series", clock_ns=3.33, clock_uncertainty=0.125, consts=c)
    sm = cost_layer(LayerSpec("s", "softmax", n_in=16, n_out=16), target)
    assert sm.latency == chained_cycles([c.softmax_ns / 2] + [c.adder_level_ns] * 4 + [c.softmax_ns / 2], 3.33)
    assert sm.latency > math.ceil((c.softmax_ns + 4 * c.adder_level_ns) / 3.33)
    # at a slow clock everything fits a cycle or two, as before
    slow = cost_layer(LayerSpec("s", "softmax", n_in=3, n_out=3), replace(target, clock_ns=25.0))
    assert slow.latency == 1


def test_folded_latency_strategy_is_the_longer_of_tree_and_multiplies() -> None:
    """Latency strategy with RF > 1: the capped multiplies and the adder tree share cycles, so the layer
    takes the longer of the two (ArgyKokk new2_20/23/26 keep their RF-1 latency at RF 100), not the sum."""
    target = Target()
    small1, small100 = (cost_layer(LayerSpec("d", "dense", n_in=3, n_out=3, reuse_factor=rf), target)
                        for rf in (1, 100))
    assert small100.latency == max(small1.latency, math.ceil(9 * Constants().const_weight_dsp_fraction))
    big = cost_layer(LayerSpec("d", "dense", n_in=64, n_out=32, reuse_factor=100), target)
    limit = math.ceil(64 * 32 / 100)
    assert big.latency == math.ceil(2048 * Constants().const_weight_dsp_fraction / limit)


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
