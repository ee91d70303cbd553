"""hls4ml 1.3.0's reuse-factor rule, in the one place dse keeps it.

hls4ml accepts any integer reuse factor.  With the Resource strategy its Vivado/Vitis backend replaces
one that is not valid for the layer's ``n_in x n_out`` product by the closest valid value (ties go to the
smaller one) and prints a warning [hls4ml 1.3.0 backends/vivado/vivado_backend.py ``init_dense`` /
``init_gru`` / ``init_lstm`` / ``init_bidirectional`` -> backends/fpga/fpga_backend.py
``set_closest_reuse_factor``].  With the Latency strategy it keeps the value as given (``init_dense``'s
``else`` branch only sets ``strategy='latency'``): the template then uses it for ``PIPELINE II`` and the
``multiplier_limit`` of ``nnet_dense_latency.h``.  (hls4ml's ``resource_unrolled`` strategy, which dse
never generates, also leaves out the largest valid value; that variant is not modelled here.)

The load-time checks of a study's reuse factors, the conversion (:mod:`dse.hls.convert`,
:mod:`dse.hls.workarounds`) and the estimator (:mod:`dse.cost.estimator_rf`) all read the rule from here,
so they cannot disagree; the tests compare it with hls4ml's own functions.

Plain Python: it imports neither hls4ml nor TensorFlow, so a study's parameters are checked at load time
without either.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache


def _divisors(n: int) -> list[int]:
    small, large = [], []
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            small.append(d)
            if d != n // d:
                large.append(n // d)
    return small + large[::-1]


def is_valid_reuse_factor(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml 1.3.0's ``FPGABackend._validate_reuse_factor``: whether the Resource templates take ``rf``
    for an ``n_in x n_out`` product as it is.

    Its three conditions: the multipliers (``ceil(n_in*n_out / min(n_in, rf))``) come in whole rows of
    ``n_out`` unless ``rf >= n_in``; an ``rf`` of ``n_in`` or more is a multiple of ``n_in``; ``rf`` divides
    ``n_in*n_out`` (every multiplier does the same number of products).  Together: ``rf`` divides ``n_in``,
    or is ``n_in`` times a divisor of ``n_out``.
    """
    n = n_in * n_out
    if n_in < 1 or n_out < 1 or rf < 1 or n % rf:
        return False
    multipliers = -(-n // min(n_in, rf))
    return (multipliers % n_out == 0 or rf >= n_in) and (rf % n_in == 0 or rf < n_in)


@lru_cache(maxsize=4096)
def valid_reuse_factors(n_in: int, n_out: int) -> tuple[int, ...]:
    """hls4ml 1.3.0's ``get_valid_reuse_factors(n_in, n_out)``, ascending.

    hls4ml tries every value from 1 to ``n_in*n_out``; only divisors of ``n_in*n_out`` can pass, so
    only those are tried here (the same list, in time growing with the square root of the product).
    """
    n_in, n_out = int(n_in), int(n_out)
    if n_in < 1 or n_out < 1:
        return ()
    return tuple(rf for rf in _divisors(n_in * n_out) if is_valid_reuse_factor(n_in, n_out, rf))


def closest_reuse_factor(valid: Sequence[int], requested: int) -> int:
    """hls4ml 1.3.0's ``get_closest_reuse_factor``: the value of the ascending ``valid`` nearest to
    ``requested``, the smaller one on a tie."""
    pos = bisect_left(valid, requested)
    if pos == 0:
        return int(valid[0])
    if pos == len(valid):
        return int(valid[-1])
    before, after = valid[pos - 1], valid[pos]
    return int(after if after - requested < requested - before else before)


def used_reuse_factor(n_in: int, n_out: int, requested: int, *, resource: bool) -> int:
    """The reuse factor hls4ml 1.3.0 generates for an ``n_in x n_out`` product asked to use ``requested``:
    the closest valid value under the Resource strategy, ``requested`` itself under the Latency strategy
    (and for an empty product, which hls4ml never checks)."""
    if not resource or n_in <= 0 or n_out <= 0:
        return int(requested)
    valid = valid_reuse_factors(n_in, n_out)
    if requested in valid:
        return int(requested)
    return closest_reuse_factor(valid, int(requested))


__all__ = [
    "closest_reuse_factor",
    "is_valid_reuse_factor",
    "used_reuse_factor",
    "valid_reuse_factors",
]
