"""Per-layer analytical cost model of hls4ml-generated HLS designs (the core of the ``estimate`` backend).

Everything here works on a small plain :class:`LayerSpec` (no hls4ml import), so that

* any converted hls4ml graph can be costed once :mod:`dse.cost.estimator_extract` has turned it into
  specs, and
* calibration rows whose designs used custom templates can be written down as specs directly.

The cost functions are registered by layer kind in :data:`LAYER_COSTS` (``@layer_cost("dense")``);
:func:`estimate_design` combines the per-layer costs into a design-level latency/II/resource total.

Sources of the formulas (cited again at each function):

``[T:file:line]``  hls4ml 1.3.0 templates/passes (``hls4ml/templates/vivado/nnet_utils/...``,
                   ``hls4ml/backends/...``), as installed in ``.venv``.
``[UG579]``        UltraScale DSP48E2 user guide: one slice multiplies 27x18 signed operands;
``[UG479]``        7-series DSP48E1: 25x18.
``[UG573]``        UltraScale memory resources: a BRAM18 is 18 Kib with aspect ratios 512x36 ... 16Kx1 and
                   two ports.
``[paper]``        ../shared/papers/lfads-fpga-deployment.txt sec. 4.2 (DSP48E2 27x18; products below
                   ~10-12 bits go to LUTs).
``[hls4ml#99]``    fastmachinelearning/hls4ml#99: an 18x18 LUT multiplier costs ~365-411 LUTs.
``[fit]``          fitted on ../shared/calibration/hls_reports.csv + hls_reports_extra.csv by
                   ``bench/estimator_fidelity.py --fit`` (the shipped value: the fit on every covered row).
                   Every such constant is re-fitted inside each cross-validation fold
                   (``dse.cost.estimator_fit.nested_loro``); only constants with a prior from outside the
                   calibration set (``estimator_fit.PRIORS``) may be frozen, and that choice is made inside
                   the folds too.
``[cal:caseNN]``   the per-instance tables of the raw reports in ../shared/fixtures/hls_reports*/caseNN/:
                   evidence for a rule's *form* (which term exists); a value read off them is fitted, not
                   fixed (see docs/estimator_evidence.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

# --------------------------------------------------------------------------------------------------
# Constants.  Structural ones come from the hardware/templates; fitted ones from the calibration CSV.
# --------------------------------------------------------------------------------------------------

# DSP operand limits (signed widths) per family [UG579 "27x18 multiplier"; UG479 "25x18"].
DSP_OPERAND_BITS: dict[str, tuple[int, int]] = {"ultrascale+": (27, 18), "7series": (25, 18)}

# Narrow products go to LUT fabric instead of DSPs.  hls4ml's templates never force it (no BIND_OP /
# RESOURCE core=Mul_LUT in templates/vivado); the HLS binder decides.  hls4ml's own DSP model
# (optimization/dsp_aware_pruning/objectives/vivado_objectives.py:15,32: ``weight_precision.width < 9``
# -> 0 DSP) treats weights of <= 8 bits as LUT products; the paper (sec. 4.2) sees DSPs drop to ~0
# below ~10-12 bits when both operands shrink together.
LUT_MULT_WEIGHT_MAX_BITS = 8
LUT_MULT_BOTH_MAX_BITS = 10
# Either operand this narrow: a few shifted adds, never a DSP (hls4ml itself specialises 1-2-bit operands
# into add/sub/select, nnet_mult.h:21-66; e.g. dse's all-zero generator input is ap_fixed<2,2>).
LUT_MULT_NARROW_OPERAND_BITS = 4
# LUTs of a non-constant LUT multiplier per bit^2: 411 LUTs / (18*18) [hls4ml#99].
LUT_PER_MULT_BIT2 = 1.27
# A LUT product by a *constant* weight is a shift-and-add over the constant's set bits: the fraction of a
# full LUT multiplier it costs.  Prior 0.5 (about half the bits set); [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): 0.11, i.e. an 8x8
# constant product costs ~9 LUTs on top of its accumulator adder (the per-instance tables agree: LUT-built
# dense layers cost ~8-10 LUT per product more than DSP-built ones, docs/estimator_evidence.md sec. 2).
CONST_LUT_MULT_FACTOR = 0.11

# BRAM18 geometry [UG573]: capacity 18 Kib; (depth, width) modes; 2 ports.
BRAM18_MODES: tuple[tuple[int, int], ...] = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
BRAM_PORTS = 2
# ROMs smaller than this go to LUTs/LUTRAM instead of BRAM.  [cal:case19] a 30x16-bit ROM (480 b) took
# 0 BRAM, [cal:case18] a 30x192-bit ROM (5760 b) took 6; 1 Kib is Vivado HLS's usual LUTRAM cut-off.
ROM_MIN_BRAM_BITS = 1024
# LUTs per ROM bit per read port when a ROM/table is kept in LUTs (a LUT6 is a 64x1 ROM).
LUT_PER_ROM_BIT = 1.0 / 64

# Latency-strategy (and RF=1) products multiply by *constant* weights: Vivado HLS turns zero/power-of-two/
# few-bit constants into shifts and adds, so only a fraction of products lands in DSPs (0.28-0.86 per
# instance, docs/estimator_evidence.md sec. 1; the spread is the weight values, which the estimator does not
# read).  Prior 1.0 (hls4ml's DSP model); [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): solved per row (DSP is linear in it), median over
# the rows: 0.77.  Resource strategy with RF>1 reads the weights from ROM, so every product takes its DSPs.
CONST_WEIGHT_DSP_FRACTION = 0.77
# Of the LUT-built (narrow) constant products, the fraction that stays a ``mul`` operation (and so counts
# against the ALLOCATION limit of a Latency-strategy layer with RF > 1) rather than becoming shifts/adds.
# Prior 0.5 (about half, like CONST_LUT_MULT_FACTOR); the selection freezes it at the prior.
NARROW_MUL_FRACTION = 0.5

# Latency of a Latency-strategy dense: the product, then a log2 adder tree, packed into clock periods
# [T:nnet_dense_latency.h:26 PIPELINE II=RF, fully unrolled].  The delays are [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07) by grid
# (they used to be read off case14/case26's instance rows; now fitted in every fold).
MULT_DELAY_NS = 3.5
ADDER_LEVEL_NS = 2.0
# Resource-strategy dense: ReuseLoop is PIPELINE II=1 rewind over RF iterations
# [T:nnet_dense_resource.h:45-47], plus a few cycles to start and drain: [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07) by grid.
RESOURCE_DENSE_EXTRA_CYCLES = 3
# io_stream layers read/write FIFOs around the kernel [T:nnet_dense_stream.h]: [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07) by grid.
STREAM_LAYER_EXTRA_CYCLES = 3

# Per time step of a recurrent cell, on top of the slower of its two matrix-vector products: sigmoid
# table lookup, reset-gate Hadamard product, candidate tanh, state mix [T:nnet_recurrent.h gru_static].
# [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): solved per row (latency is linear in it), median over the rows, per strategy.
RNN_STEP_OVERHEAD_RESOURCE = 8
RNN_STEP_OVERHEAD_LATENCY = 15

# Top level: cycles the top function adds around its layers (I/O registers, handshakes between layer
# instances): base + per further compute layer (relu-like activations do not count).  [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07) by grid.
TOP_OVERHEAD_BASE_CYCLES = 0
TOP_OVERHEAD_PER_LAYER = 1.0

# Activation-table and softmax logic delays, turned into cycles at the clock.  [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07) by grid.
TABLE_LOOKUP_NS = 15.0
SOFTMAX_NS = 20.0
# Fabric speed relative to the 7-series (Virtex-7) reference: UltraScale+ is faster, the Artix-7 fabric
# (Artix-7, Zynq-7000 7z007s..7z020: ``Part.fabric == "artix7"``) slower.  Priors 1.0 (no difference);
# [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07) by grid: UltraScale+ 0.4 (it also absorbs the other differences of those rows), Artix-7 1.0.
# Per-instance evidence for a slower Artix-7 fabric: the same hls4ml 0.7.1 softmax (n=5, 5 ns) takes 4
# cycles on an xcu250 (new2_44) and 13 on an xc7z020 (new2_48).
ULTRASCALE_DELAY_SCALE = 0.4
ARTIX7_DELAY_SCALE = 1.0
# The clock uncertainty the fitted delays are referred to: hls4ml's Vivado default, 12.5 % of the clock
# (backends/vivado/vivado_backend.py); a row with another uncertainty scales its delays (_delay_scale).
REFERENCE_CLOCK_UNCERTAINTY = 0.125

# ---- LUT / FF model -------------------------------------------------------------------------------
# [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): least squares (soft-L1 on log(pred/reported), with a weak pull of each coefficient to its prior
# or start, ``estimator_fit.PRIOR_PULL``) over the covered rows' LUT and FF totals (case21 excluded for
# LUT: its csynth LUT is 10x its Vivado-synthesis LUT).  The forms rest on the per-instance tables
# (docs/estimator_evidence.md); the values are fitted, in every cross-validation fold.
# LUTs per product per accumulator bit: the adder behind each product.  Prior 1.0: an N-bit adder is N
# LUT6 on the carry chain (UG474/UG574); the selection freezes it at the prior.  Zero weights (hls4ml's
# n_zeros) are no products and cost nothing.
LUT_PER_PRODUCT_ACC_BIT = 1.0
# Resource strategy (RF>1): the reuse loop routes every input element to the products over RF cycles
# (``data[in_index]`` with a run-time index into the partitioned input [T:nnet_dense_resource.h:59]):
# LUTs per input element per data bit.  [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): 1.3.
LUT_RESOURCE_IN_PER_BIT = 1.3
# Per output of an MVP, per accumulator bit: the bias initialisation and the final cast of each
# accumulator to the result type (``acc[i] = bias[i]`` ... ``res[i] = cast<res_T>(acc[i])``
# [T:nnet_dense_latency.h:48-70, nnet_dense_resource.h]), one adder/rounding stage of the accumulator
# width per output.  The per-instance tables show the term: in the ArgyKokk fabric rows (8x8-bit constant
# products in LUTs, 16-bit accumulators) 16 dense instances of 2..6839 non-zero products fit
# LUT = 28 x non-zero products + 45 x outputs (median error 19 %) where products alone leave 25 % and
# under-predict the small layers 2x (new2_18 10->5: 2746 LUT = 55 per product; new2_30 561->20: 170240 =
# 25 per product).  Prior 1.0 (one LUT per bit of the bias adder, UG474/UG574); [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): 11.4 --
# four times the 45/16 = 2.8 of those instances: on the totals it also carries the per-output logic the
# model lacks elsewhere (e.g. the fixed softmax/activation logic, no longer modelled).
LUT_PER_OUTPUT_ACC_BIT = 11.4
# Recurrent gate datapath (sigmoid/tanh index arithmetic, Hadamard/mix adders, state registers), per
# state unit per accumulator bit; the GRU instances report 1.0k-4.3k LUT per unit [cal:case14,16,18,19,21,
# 23].  [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): 38.8.
LUT_RNN_GATE_PER_STATE_BIT = 38.8
# Element-wise activations (relu, linear casts): LUT per element per input bit (see cost_activation for
# the instance evidence); prior 1.0 (one LUT6 per bit, UG474 7-series / UG574 UltraScale CLB);
# [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07): 0.6.
LUT_ELEMENTWISE_PER_BIT = 0.6
# Fixed LUTs per table-based activation/softmax instance (index arithmetic and control) beyond the
# per-element terms: not modelled (0).  The values used before (150/500) were read off the calibration
# reports' instance rows, and a fit of them on the totals is not identifiable (it ran to 10k).
LUT_TABLE_ACTIVATION = 0.0
LUT_SOFTMAX = 0.0
# FFs per product per accumulator bit (pipeline registers of the unrolled datapath), per input element per
# data bit of a Resource MVP (operand registers of the reuse loop), per state unit per accumulator bit of a
# recurrent cell (state, gate pipeline registers).  [fit] (``bench/estimator_fidelity.py --fit``, 2026-12-07).
FF_PER_PRODUCT_ACC_BIT = 1.03
FF_RESOURCE_IN_PER_BIT = 3.06
FF_RNN_GATE_PER_STATE_BIT = 26.3

# The FF terms are fitted on 5-ns rows; pipeline registers scale about with 1/clock (a slower clock
# needs fewer stages): [cal:case29] at 25 ns has ~1/5 the FFs per product of the 5-ns dense rows.
# Clipped to 0.2..2.
FF_REFERENCE_CLOCK_NS = 5.0

# Fallback cost of a layer kind the estimator does not know: element-wise LUT logic per output bit and a
# few cycles, *no* multipliers (charging n_in*n_out products, as estimate-1 did, let one unknown layer
# dominate a design's DSP/LUT).  Every such layer is listed in ``details['fallback_layers']`` and counts
# as 100 % uncertain in ``details['uncertainty']``.
UNKNOWN_LUT_PER_ELEMENT_BIT = 4.0
# Pooling: one comparator (max) or adder (average) per window element per output, LUT per bit
# (a LUT6 compares/adds about one bit); no weights, no multipliers.
LUT_POOL_PER_OP_BIT = 1.0


@dataclass(frozen=True)
class Constants:
    """All tunable constants in one object, so a fit can evaluate candidates without monkeypatching.

    The defaults are the module constants above; :func:`estimate_design` uses ``Constants()`` unless
    given another.
    """

    const_weight_dsp_fraction: float = CONST_WEIGHT_DSP_FRACTION
    mult_delay_ns: float = MULT_DELAY_NS
    adder_level_ns: float = ADDER_LEVEL_NS
    resource_dense_extra_cycles: int = RESOURCE_DENSE_EXTRA_CYCLES
    stream_layer_extra_cycles: int = STREAM_LAYER_EXTRA_CYCLES
    rnn_step_overhead_resource: int = RNN_STEP_OVERHEAD_RESOURCE
    rnn_step_overhead_latency: int = RNN_STEP_OVERHEAD_LATENCY
    top_overhead_base_cycles: int = TOP_OVERHEAD_BASE_CYCLES
    top_overhead_per_layer: float = TOP_OVERHEAD_PER_LAYER
    table_lookup_ns: float = TABLE_LOOKUP_NS
    softmax_ns: float = SOFTMAX_NS
    lut_per_product_acc_bit: float = LUT_PER_PRODUCT_ACC_BIT
    lut_resource_in_per_bit: float = LUT_RESOURCE_IN_PER_BIT
    lut_rnn_gate_per_state_bit: float = LUT_RNN_GATE_PER_STATE_BIT
    lut_elementwise_per_bit: float = LUT_ELEMENTWISE_PER_BIT
    lut_table_activation: float = LUT_TABLE_ACTIVATION
    lut_softmax: float = LUT_SOFTMAX
    lut_per_mult_bit2: float = LUT_PER_MULT_BIT2
    lut_per_output_acc_bit: float = LUT_PER_OUTPUT_ACC_BIT
    ff_per_product_acc_bit: float = FF_PER_PRODUCT_ACC_BIT
    ff_resource_in_per_bit: float = FF_RESOURCE_IN_PER_BIT
    ff_rnn_gate_per_state_bit: float = FF_RNN_GATE_PER_STATE_BIT
    narrow_mul_fraction: float = NARROW_MUL_FRACTION
    const_lut_mult_factor: float = CONST_LUT_MULT_FACTOR
    ultrascale_delay_scale: float = ULTRASCALE_DELAY_SCALE
    artix7_delay_scale: float = ARTIX7_DELAY_SCALE


# --------------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------------

#: How a layer inside a ``TimeDistributed`` wrapper is repeated over the time steps.
#: ``none``: not wrapped; ``sequential``: one instance run T times; ``unrolled``: T parallel instances;
#: ``pipelined``: one instance, new step every II.
TIME_LOOPS = ("none", "sequential", "unrolled", "pipelined")


@dataclass(frozen=True)
class LayerSpec:
    """What the cost model needs to know about one layer (plain data, no hls4ml objects).

    ``kind`` selects the cost function in :data:`LAYER_COSTS`: ``dense``, ``conv1d``, ``gru``, ``lstm``,
    ``simple_rnn``, ``activation`` (``activation`` names it: relu, sigmoid, tanh, linear, ...),
    ``softmax``, ``elementwise`` (batchnorm-like: one product per element), ``passthrough`` (reshape,
    input, concatenate, ...: wiring) and ``unknown``.

    For recurrent kinds ``n_in`` is the per-step input width, ``n_state`` the units, ``timesteps`` the
    sequence length and ``directions`` 2 for a ``Bidirectional`` wrapper; ``activation`` /
    ``recurrent_activation`` whose name contains ``hard`` (QKeras hard sigmoid/tanh, a clip and a shift)
    need no table, any other name is costed as a table lookup.  For ``conv1d`` ``n_in`` is
    ``filt_width * n_chan`` (the product length), ``n_out`` the filters and ``positions`` the output
    width processed one after the other, ``parallel`` the positions computed at once (hls4ml's
    ParallelizationFactor); in io_stream ``positions`` are the input pixels the line buffer reads.  For
    ``pooling`` ``positions`` is the window and, in io_stream, ``timesteps`` the input pixels streamed.
    """

    name: str
    kind: str
    n_in: int = 0
    n_out: int = 0
    n_state: int = 0
    timesteps: int = 1
    directions: int = 1
    positions: int = 1
    parallel: int = 1
    reuse_factor: int = 1
    recurrent_reuse_factor: int | None = None
    data_bits: int = 16
    weight_bits: int = 16
    recurrent_weight_bits: int | None = None
    accum_bits: int = 16
    result_bits: int = 16
    table_bits: int = 18
    table_size: int = 1024
    strategy: str = "latency"  # latency | resource | resource_unrolled
    static: bool = True
    io_type: str = "io_parallel"
    activation: str = "linear"
    recurrent_activation: str = "sigmoid"
    n_zeros: int = 0
    time_loop: str = "none"  # see TIME_LOOPS
    time_steps_wrapped: int = 1  # T of an enclosing TimeDistributed
    note: str = ""  # free text; a note starting with "WARNING" is copied to the report's warnings

    @property
    def rf_recurrent(self) -> int:
        return self.recurrent_reuse_factor or self.reuse_factor

    @property
    def w_recurrent_bits(self) -> int:
        return self.recurrent_weight_bits or self.weight_bits

    @property
    def is_resource(self) -> bool:
        return self.strategy.lower().startswith("resource")


@dataclass(frozen=True)
class Target:
    """Where and how the design is built: the part family, clock and top-level pipeline style.

    ``pipeline_style`` is what hls4ml 1.3.0 writes on the top function: ``pipeline`` (io_parallel with
    all-Latency layers) or ``dataflow`` (io_stream, or any Resource layer)
    [T:backends/vivado/passes/pipeline_style.py:17-34].  ``bidirectional_parallel`` (default True) says
    that the two directions of a Bidirectional overlap; False makes them run one after the other (see
    :func:`cost_recurrent` for the evidence).
    """

    family: str = "ultrascale+"
    clock_ns: float = 5.0
    fabric: str = ""  # dse.cost.parts.Part.fabric: "artix7" for the slower Artix-7-fabric 7-series parts
    io_type: str = "io_parallel"
    pipeline_style: str = "pipeline"
    bidirectional_parallel: bool = True
    clock_uncertainty: float = REFERENCE_CLOCK_UNCERTAINTY
    consts: Constants = field(default_factory=Constants)


@dataclass
class LayerCost:
    """Cost of one layer (one instance unless ``time_loop == 'unrolled'``, which is already included)."""

    name: str
    kind: str
    latency: int
    latency_best: int
    ii: int
    dsp: float = 0.0
    lut: float = 0.0
    ff: float = 0.0
    bram_18k: float = 0.0
    products: int = 0  # hardware multipliers instantiated (DSP or LUT)
    lut_products: int = 0  # of which in LUTs
    pipelined: bool = True  # False for loops with a carried state (recurrent cells)
    notes: list[str] = field(default_factory=list)

    def scaled(self, k: int) -> LayerCost:
        """``k`` parallel copies: resources times ``k``, same timing."""
        return replace(
            self,
            dsp=self.dsp * k,
            lut=self.lut * k,
            ff=self.ff * k,
            bram_18k=self.bram_18k * k,
            products=self.products * k,
            lut_products=self.lut_products * k,
            notes=list(self.notes),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "latency_cycles": self.latency,
            "latency_cycles_best": self.latency_best,
            "ii_cycles": self.ii,
            "dsp": round(self.dsp),
            "lut": round(self.lut),
            "ff": round(self.ff),
            "bram_18k": round(self.bram_18k),
            "products": self.products,
            "lut_products": self.lut_products,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------


def dsp_per_product(a_bits: int, b_bits: int, family: str) -> int:
    """DSP slices for one ``a_bits x b_bits`` signed product that is wide enough for a DSP.

    A slice multiplies ``A x B`` signed bits (27x18 on DSP48E2 [UG579], 25x18 on DSP48E1 [UG479]);
    wider operands are split into a signed top part and unsigned lower parts of ``A-1``/``B-1`` bits,
    and the better of the two operand orientations is used.  E.g. 16x16 -> 1, 24x24 -> 2, 32x32 -> 4.
    """
    a_max, b_max = DSP_OPERAND_BITS.get(family, DSP_OPERAND_BITS["ultrascale+"])

    def parts(width: int, port: int) -> int:
        return 1 if width <= port else math.ceil((width - 1) / (port - 1))

    return min(parts(a_bits, a_max) * parts(b_bits, b_max), parts(b_bits, a_max) * parts(a_bits, b_max))


def product_in_luts(data_bits: int, weight_bits: int) -> bool:
    """Whether the HLS binder builds this product in LUTs (see LUT_MULT_* constants for the sources)."""
    if weight_bits <= LUT_MULT_WEIGHT_MAX_BITS or min(data_bits, weight_bits) <= LUT_MULT_NARROW_OPERAND_BITS:
        return True
    return max(data_bits, weight_bits) <= LUT_MULT_BOTH_MAX_BITS


def rom_brams(depth: int, width: int, ports_needed: int = 1) -> int:
    """BRAM18s for a ROM of ``depth`` words of ``width`` bits read by ``ports_needed`` parallel readers.

    The cheapest BRAM18 aspect ratio is chosen [UG573]; every 2 readers need another copy.  ROMs below
    :data:`ROM_MIN_BRAM_BITS` are left to LUTs (returns 0).
    """
    if depth <= 0 or width <= 0 or depth * width < ROM_MIN_BRAM_BITS:
        return 0
    one = min(math.ceil(width / w) * math.ceil(depth / d) for d, w in BRAM18_MODES)
    return one * math.ceil(max(ports_needed, 1) / BRAM_PORTS)


def table_cost(n_lookups: int, table_size: int, table_bits: int) -> tuple[int, float]:
    """(BRAM18, LUT) of an activation table read by ``n_lookups`` parallel lookups.

    io_parallel activations look up every element in the same cycle [T:nnet_activation.h:95 sigmoid/tanh
    ``#pragma HLS PIPELINE`` + unrolled loop], so the ROM is replicated once per two readers:
    [cal:case19] GRU(120) 240 sigmoid + 120 tanh lookups -> 120 + 60 = 180 BRAM (+ 672 weight BRAM
    = the reported 852 exactly); case18 and case16 match the same way.
    """
    brams = rom_brams(table_size, table_bits, n_lookups)
    if brams:
        return brams, 0.0
    return 0, table_size * table_bits * LUT_PER_ROM_BIT * max(n_lookups, 1)


@dataclass(frozen=True)
class MVP:
    """One matrix-vector product ``n_in -> n_out`` at reuse factor ``rf`` (a Dense, or one RNN matrix)."""

    n_in: int
    n_out: int
    rf: int
    data_bits: int
    weight_bits: int
    accum_bits: int
    n_zeros: int = 0


def mvp_cost(m: MVP, spec: LayerSpec, target: Target) -> LayerCost:
    """Resources and latency of one matrix-vector product as hls4ml 1.3.0 builds it.

    * products ``= ceil(n_in*n_out / RF) - n_zeros/RF`` (``multiplier_limit``
      [T:backends/vivado/passes/core_templates.py:27, recurrent_templates.py:14]); the DSPs of
      [cal:case18,19,21] come out exactly with it.
    * each product takes :func:`dsp_per_product` DSPs unless :func:`product_in_luts`; with constant
      weights (Latency strategy, or RF=1) only :data:`CONST_WEIGHT_DSP_FRACTION` of them do [fit].
    * Resource strategy with RF>1 keeps the weights in BRAM: ``ARRAY_RESHAPE block factor=block_factor``
      + ``ROM_nP_BRAM`` [T:nnet_dense_resource.h:29-34] -> a ROM ``RF`` words deep and
      ``block_factor*weight_bits`` wide ([cal:case19] 120->50 RF30: 200*16/36 -> 89 BRAM, reported 89).
      Latency strategy keeps them in the fabric (constants) [T:nnet_dense_latency.h:24].
    * latency: Latency: ``t_mult`` then ``ceil(log2 n_in)`` adder levels of ``t_add``, whole operations
      packed into clock periods (:func:`chained_cycles`), or with RF > 1 the
      ``ceil(mul ops / multiplier_limit)`` cycles of the capped products if longer; Resource ``RF + 1``.
    """
    c = target.consts
    rf = max(1, min(m.rf, m.n_in * m.n_out))
    products = max(0, math.ceil(m.n_in * m.n_out / rf) - m.n_zeros // rf)
    const_weights = (not spec.is_resource) or rf == 1
    lut_mult = product_in_luts(m.data_bits, m.weight_bits)
    notes: list[str] = []
    # Latency strategy with RF > 1: the template keeps every product unrolled and only caps the ``mul``
    # operations with ``ALLOCATION operation instances=mul limit=multiplier_limit`` under
    # ``PIPELINE II=reuse_factor`` [T:nnet_dense_latency.h:25-34].  Products by constants that HLS turns
    # into shifts/adds are no ``mul`` and are not capped.  Evidence (csynth): RF 2 keeps the RF-1 hardware
    # -- Hector-Plata new2_44/45 DSP 1520/1486, LUT 85140/84841; ArgyKokk new2_09/10 DSP 177/177,
    # new2_12/13 (fabric) LUT 45814/44400 -- and RF 100 cuts the DSPs to about the limit (new2_11: 31)
    # while adding cycles (latency 40 -> 62).  So: hardware = every non-zero product, DSPs capped at the
    # limit, and the ``mul`` operations scheduled ceil(mul ops / limit) to a cycle.  The adder tree is not
    # waiting for the last product: its levels run in the same cycles as the later products (the
    # scheduler chains each level behind the products it needs), so the latency is the longer of the
    # two, ``max(depth, ceil(mul ops / limit))``, not their sum.  Evidence (csynth instance rows, RF 100
    # vs RF 1 of the same layer): small layers whose products fit in a few cycles keep their RF-1 latency
    # (ArgyKokk new2_20 3->2: 1 and 1, new2_26 3->3: 2 and 2, new2_23 3->3: 4 and 4, each with limit 1
    # and 4-9 non-zero products), and the folded instances report an interval of latency + 1 (new2_11:
    # 15/16 and 23/24; the target II = RF = 100 is never reached), i.e. the mul sequence is the schedule.
    latency_folded = (not spec.is_resource) and rf > 1
    hw = max(0, m.n_in * m.n_out - m.n_zeros) if latency_folded else products
    limit = max(products, 1)

    dsp = 0.0
    lut = hw * m.accum_bits * c.lut_per_product_acc_bit + m.n_out * m.accum_bits * c.lut_per_output_acc_bit
    lut_products = 0
    if lut_mult:
        lut_products = hw
        cost = m.data_bits * m.weight_bits * c.lut_per_mult_bit2
        lut += hw * cost * (c.const_lut_mult_factor if const_weights else 1.0)
        mul_ops = hw * c.narrow_mul_fraction
        notes.append(f"{m.data_bits}x{m.weight_bits}-bit products in LUTs")
    else:
        per = dsp_per_product(m.data_bits, m.weight_bits, target.family)
        frac = c.const_weight_dsp_fraction if const_weights else 1.0
        mul_ops = hw * frac
        dsp = min(mul_ops, limit) * per if latency_folded else products * per * frac
        if per > 1:
            notes.append(f"{m.data_bits}x{m.weight_bits}-bit products need {per} DSPs each")
    folded_cycles = max(0, math.ceil(mul_ops / limit) - 1) if latency_folded else 0
    products = hw

    ff = hw * m.accum_bits * c.ff_per_product_acc_bit
    bram = 0
    if spec.is_resource and rf > 1:
        block_factor = math.ceil(m.n_in * m.n_out / rf)
        bram = rom_brams(rf, block_factor * m.weight_bits)
        if bram == 0:
            lut += rf * block_factor * m.weight_bits * LUT_PER_ROM_BIT
        lut += m.n_in * m.data_bits * c.lut_resource_in_per_bit
        ff += m.n_in * m.data_bits * c.ff_resource_in_per_bit

    if spec.is_resource:
        latency = rf + (c.resource_dense_extra_cycles if rf > 1 else 0)
        best = rf
        ii = rf
    else:
        # the product, then a log2(n_in)-level adder tree, packed into whole cycles (:func:`chained_cycles`)
        scale = _delay_scale(target)
        levels = math.ceil(math.log2(max(m.n_in, 1)))
        depth_cycles = chained_cycles([c.mult_delay_ns * scale] + [c.adder_level_ns * scale] * levels, target.clock_ns)
        latency = max(1, depth_cycles, folded_cycles + 1 if folded_cycles else 0)
        best = latency
        # a pipelined function whose schedule is shorter than its target II = RF restarts after latency + 1
        ii = min(rf, latency + 1) if folded_cycles else rf
    return LayerCost(
        name=spec.name,
        kind="mvp",
        latency=latency,
        latency_best=best,
        ii=ii,
        dsp=dsp,
        lut=lut,
        ff=ff,
        bram_18k=bram,
        products=products,
        lut_products=lut_products,
        notes=notes,
    )


def elementwise_products(n: int, a_bits: int, b_bits: int, target: Target) -> tuple[float, float, int]:
    """(DSP, LUT, lut_products) of ``n`` parallel non-constant ``a x b`` products (gates, batchnorm)."""
    if max(a_bits, b_bits) <= LUT_MULT_BOTH_MAX_BITS:
        return 0.0, n * a_bits * b_bits * target.consts.lut_per_mult_bit2, n
    return float(n * dsp_per_product(a_bits, b_bits, target.family)), 0.0, 0


def _delay_scale(target: Target) -> float:
    """Logic delays relative to the rows the delay constants were read off ([cal:case14,26]: xc7vx690t,
    12.5 % clock uncertainty): UltraScale+ fabric is faster (``ultrascale_delay_scale``), and HLS schedules
    into the clock period *minus* the uncertainty, so a larger uncertainty leaves less of each cycle
    (hls4ml 1.3.0 writes ``set_clock_uncertainty`` from its ``ClockUncertainty``: 27 % by default for
    Vitis, 12.5 % for Vivado [backends/vitis/vitis_backend.py:95, backends/vivado/vivado_backend.py:279];
    the csynth reports print it, e.g. case28 1.35 ns of 5 ns)."""
    family = target.consts.ultrascale_delay_scale if target.family == "ultrascale+" else 1.0
    if target.fabric == "artix7":
        family = target.consts.artix7_delay_scale
    usable = (1.0 - REFERENCE_CLOCK_UNCERTAINTY) / max(1.0 - target.clock_uncertainty, 0.05)
    return family * usable


def chained_cycles(delays_ns: list[float], clock_ns: float) -> int:
    """Cycles a chain of dependent operations takes when whole operations are packed into clock periods.

    HLS chains operations into one cycle only while their delays still fit the (uncertainty-reduced)
    period; an operation is never split across a register, and one longer than the period takes
    ``ceil(delay / period)`` cycles on its own (a multi-cycle/pipelined operator).  So at a clock close
    to the operator delays a chain costs more cycles than ``ceil(sum of delays / period)``: e.g. 1.9 ns
    adds at a 2.9 ns usable period go one per cycle, not 1.5 per cycle.  ``delays_ns`` are already
    scaled (:func:`_delay_scale`)."""
    cycles = 0
    used = 0.0
    for d in delays_ns:
        if d >= clock_ns:
            cycles += (1 if used > 0 else 0) + math.ceil(d / clock_ns)
            used = 0.0
            continue
        if used + d > clock_ns:
            cycles += 1
            used = 0.0
        used += d
    return cycles + (1 if used > 0 else 0)


def _stream_extra(spec: LayerSpec, target: Target) -> int:
    return target.consts.stream_layer_extra_cycles if spec.io_type == "io_stream" else 0


# --------------------------------------------------------------------------------------------------
# Layer cost functions, registered by kind
# --------------------------------------------------------------------------------------------------

LayerCostFn = Callable[[LayerSpec, Target], LayerCost]
LAYER_COSTS: dict[str, LayerCostFn] = {}


def layer_cost(*kinds: str) -> Callable[[LayerCostFn], LayerCostFn]:
    """Register a cost function for one or more layer kinds."""

    def deco(fn: LayerCostFn) -> LayerCostFn:
        for k in kinds:
            LAYER_COSTS[k] = fn
        return fn

    return deco


@layer_cost("dense")
def cost_dense(spec: LayerSpec, target: Target) -> LayerCost:
    """A Dense: one MVP [T:nnet_dense_latency.h / nnet_dense_resource.h]."""
    m = MVP(spec.n_in, spec.n_out, spec.reuse_factor, spec.data_bits, spec.weight_bits, spec.accum_bits,
            spec.n_zeros)
    cost = mvp_cost(m, spec, target)
    cost.kind = spec.kind
    cost.latency += _stream_extra(spec, target)
    cost.latency_best += _stream_extra(spec, target)
    return cost


@layer_cost("conv1d", "conv2d")
def cost_conv1d(spec: LayerSpec, target: Target) -> LayerCost:
    """A Conv1D (pointwise or not) as ``positions`` pipelined applications of ``parallel`` copies of an
    ``n_in -> n_out`` MVP.

    hls4ml 1.3.0 io_parallel conv1d: ``PartitionLoop`` over ``n_partitions`` with ``PIPELINE II=RF``,
    ``n_pixels`` (= out_width / n_partitions) MVPs unrolled inside [T:nnet_conv1d_latency.h:33-44].
    io_stream conv1d processes one position per pixel read, the same count of MVP applications.
    """
    m = MVP(spec.n_in, spec.n_out, spec.reuse_factor, spec.data_bits, spec.weight_bits, spec.accum_bits,
            spec.n_zeros)
    one = mvp_cost(m, spec, target)
    if spec.parallel > 1:
        one = one.scaled(spec.parallel)
    steps = max(spec.positions, 1)
    lat = one.latency + (steps - 1) * max(one.ii, 1) + _stream_extra(spec, target)
    one.kind = spec.kind
    one.latency = lat
    one.latency_best = lat
    one.ii = steps * max(one.ii, 1)
    one.notes.append(f"{steps} positions through one MVP instance")
    return one


def _rnn_shape(kind: str) -> tuple[int, int, int, int]:
    """(gates in the MVPs, sigmoid lookups per unit, tanh lookups per unit, gate products per unit).

    GRU [T:nnet_recurrent.h gru/gru_static]: W,U are ``n x 3n``; sigmoid on z,r (2n), tanh on the
    candidate (n); products r*U_h h (n) and the mix h~(1-z) + h z (2n).  [cal:case18,19,21] reproduce
    the reported DSPs exactly with 3n extra products.
    LSTM [T:nnet_recurrent.h lstm/lstm_static]: 4 gates; sigmoid on i,f,o (3n), tanh on c and s (2n);
    products c*i, s*f, o*tanh(s) (3n).
    SimpleRNN: 1 gate, tanh on n, no extra products.
    """
    return {"gru": (3, 2, 1, 3), "lstm": (4, 3, 2, 3), "simple_rnn": (1, 0, 1, 0)}[kind]


def _rnn_activation_cost(name: str, n_lookups: int, spec: LayerSpec, target: Target) -> tuple[int, float]:
    """(BRAM18, LUT) of a recurrent cell's activation over ``n_lookups`` elements: a table per
    :func:`table_cost`, or for a hard (piecewise-linear) activation a clip and shift in LUTs ("simple
    wiring", paper sec. 3.2)."""
    if n_lookups <= 0:
        return 0, 0.0
    if "hard" in name.lower():
        return 0, n_lookups * spec.accum_bits * target.consts.lut_elementwise_per_bit
    return table_cost(n_lookups, spec.table_size, spec.table_bits)


@layer_cost("gru", "lstm", "simple_rnn")
def cost_recurrent(spec: LayerSpec, target: Target) -> LayerCost:
    """A recurrent layer: per-step cell latency times the sequence length, per direction.

    ``gru_stack``/``lstm_stack`` loop over ``n_sequence`` steps calling the (static) cell once per step
    [T:nnet_recurrent.h:589 gru_stack, :242 lstm_stack ``for iloop < n_sequence``]; the loop carries the
    state, so nothing overlaps: latency = T * step.  A step is the slower of the two MVPs (the input and
    the recurrent one are independent calls) plus the gate overhead [fit].

    Bidirectional -- the default (directions overlap) follows the evidence:

    * template: ``bidirectional_stack`` [T:nnet_recurrent.h:749-810] calls
      ``RNNfunc_forward<..., 0>::apply(reset_state, data_in, h_newstate, param, ...)`` and
      ``RNNfunc_backward<..., 1>::apply(reset_state, data_in_back, h_newstate_back, param_back, ...)`` in
      one iteration of the sequence loop: two distinct template instances (their own hardware and static
      state), separate weight/state arrays and inputs, no data flowing between them.  Vivado/Vitis HLS
      schedule data-independent calls of a region concurrently (nothing orders the second call after the
      first but the source text), so a step takes the slower direction, not the sum; both directions have
      equal sizes (hls4ml requires it for the concatenation).
    * calibration: the only Bidirectional rows (case05/07/10, YanLunHuang/LFADS, a wrapper that calls the
      two directions the same way) report the one-direction latency: case05 5993 cycles is predicted to
      within 5 % with overlapping directions and about +90 % sequential (``bench/estimator_fidelity.py``
      prints both for every Bidirectional row).

    ``Target.bidirectional_parallel=False`` gives the sequential (2x latency) upper bound.

    io_stream recurrent layers: ``gru_stack(hls::stream ...)`` [T:nnet_recurrent.h:648-705] reads one
    input pack per step and calls the same static cell, so a step costs what it costs in io_parallel, plus
    the FIFO read/write of a streamed layer (``stream_layer_extra_cycles``); the one stock io_stream GRU row
    (case23, uw-acme) is predicted within a few % this way (see bench/results/estimator_fidelity.md).
    """
    c = target.consts
    gates, n_sig, n_tanh, n_gate_products = _rnn_shape(spec.kind)
    n = spec.n_state or spec.n_out
    w_mvp = MVP(spec.n_in, gates * n, spec.reuse_factor, spec.data_bits, spec.weight_bits, spec.accum_bits,
                spec.n_zeros)
    # the recurrent MVP multiplies the state (result type) by the recurrent weights
    u_mvp = MVP(n, gates * n, spec.rf_recurrent, spec.result_bits, spec.w_recurrent_bits, spec.accum_bits)
    w_cost = mvp_cost(w_mvp, spec, target)
    u_cost = mvp_cost(u_mvp, spec, target)

    g_dsp, g_lut, g_lut_products = elementwise_products(n_gate_products * n, spec.accum_bits, spec.accum_bits,
                                                        target)
    sig_bram, sig_lut = _rnn_activation_cost(spec.recurrent_activation, n_sig * n, spec, target)
    tanh_bram, tanh_lut = _rnn_activation_cost(spec.activation, n_tanh * n, spec, target)

    overhead = c.rnn_step_overhead_resource if spec.is_resource else c.rnn_step_overhead_latency
    step = max(w_cost.latency, u_cost.latency) + overhead
    step_best = max(w_cost.latency_best, u_cost.latency_best) + overhead
    one_dir = LayerCost(
        name=spec.name,
        kind=spec.kind,
        latency=step * spec.timesteps,
        latency_best=step_best * spec.timesteps,
        ii=step * spec.timesteps,
        dsp=w_cost.dsp + u_cost.dsp + g_dsp,
        lut=w_cost.lut + u_cost.lut + g_lut + sig_lut + tanh_lut + n * spec.accum_bits * c.lut_rnn_gate_per_state_bit,
        ff=w_cost.ff + u_cost.ff + n * spec.accum_bits * c.ff_rnn_gate_per_state_bit,
        bram_18k=w_cost.bram_18k + u_cost.bram_18k + sig_bram + tanh_bram,
        products=w_cost.products + u_cost.products + n_gate_products * n,
        lut_products=w_cost.lut_products + u_cost.lut_products + g_lut_products,
        pipelined=False,
        notes=w_cost.notes + [f"step {step} cycles x {spec.timesteps} steps"],
    )
    if not spec.static:
        one_dir.notes.append("non-static cell (state passed in)")
    if spec.directions == 2:
        both = one_dir.scaled(2)
        if target.bidirectional_parallel:
            both.notes.append("bidirectional: directions assumed to overlap")
        else:
            both.latency *= 2
            both.latency_best *= 2
            both.ii *= 2
            both.notes.append("bidirectional: forward then backward cell per step (2x latency)")
        one_dir = both
    extra = _stream_extra(spec, target)
    one_dir.latency += extra
    one_dir.latency_best += extra
    return one_dir


@layer_cost("activation")
def cost_activation(spec: LayerSpec, target: Target) -> LayerCost:
    """Element-wise activation on ``n_out`` values.

    relu/linear/hard activations are comparisons/wiring (0 cycles in csynth [cal:case14,28]);
    sigmoid/tanh/etc. read a ``table_size x table_bits`` ROM per element [T:nnet_activation.h].
    """
    c = target.consts
    n = max(spec.n_out, spec.n_in, 1)
    name = spec.activation.lower()
    table_based = name in {"sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "exp", "gelu", "swish"}
    # per element and *input* bit: the compare/select of a relu, or a table's index arithmetic, and the
    # cast to the result type (rounding and saturation when it narrows).  Per-instance evidence (LUT per
    # element of relu instances, 16-bit inputs): 28 into ap_fixed<16,6> [cal:case14,28], 35-55 into
    # ap_ufixed<8,*,AP_RND_CONV,AP_SAT> [cal:new2_30,36,41], 69 into ap_ufixed<6,0,...> [cal:new2_47]: the
    # cost follows the input width (and grows with the narrowing); per *result* bit it would be 1.75 to
    # 11.  The coefficient is fitted in each fold (prior 1.0: one LUT6 per bit, UG474/UG574).
    lut = n * max(spec.data_bits, spec.result_bits) * c.lut_elementwise_per_bit
    bram = 0
    lat = 0
    if table_based:
        bram, t_lut = table_cost(n, spec.table_size, spec.table_bits)
        lut += t_lut + c.lut_table_activation
        lat = max(1, math.ceil(c.table_lookup_ns * _delay_scale(target) / target.clock_ns))
    extra = _stream_extra(spec, target)
    return LayerCost(spec.name, spec.kind, lat + extra, lat + extra, 1, lut=lut,
                     ff=n * spec.result_bits * (1.0 if table_based else 0.0), bram_18k=bram)


@layer_cost("softmax")
def cost_softmax(spec: LayerSpec, target: Target) -> LayerCost:
    """hls4ml 'stable' softmax: max, exp table per element, sum, inverse table, n products
    [T:nnet_activation.h:220 softmax_stable].  [cal:case19,21,29]: BRAM = ceil(n/2)+1, DSP = n."""
    c = target.consts
    n = max(spec.n_out, spec.n_in, 1)
    exp_bram, exp_lut = table_cost(n, spec.table_size, spec.table_bits)
    inv_bram, inv_lut = table_cost(1, spec.table_size, spec.table_bits)
    dsp, lut_p, lp = elementwise_products(n, spec.table_bits, spec.table_bits, target)
    extra = _stream_extra(spec, target)
    # the sum's adder tree sits between the exp-table read and the inverse-table read; each half of
    # ``softmax_ns`` (a table read with its index arithmetic) is one operation that cannot straddle a
    # register, so at a clock near the lookup delay the chain takes more cycles than total delay / clock
    # (see :func:`chained_cycles`)
    scale = _delay_scale(target)
    half, add = c.softmax_ns * scale / 2, c.adder_level_ns * scale
    lat = max(1, chained_cycles([half] + [add] * math.ceil(math.log2(n)) + [half], target.clock_ns)) + extra
    return LayerCost(spec.name, spec.kind, lat, lat, 1, dsp=dsp, lut=c.lut_softmax + exp_lut + inv_lut + lut_p,
                     ff=n * spec.table_bits * 2.0, bram_18k=exp_bram + inv_bram, products=n, lut_products=lp)


@layer_cost("elementwise")
def cost_elementwise(spec: LayerSpec, target: Target) -> LayerCost:
    """BatchNormalization-like scale+shift: one non-constant product per element."""
    n = max(spec.n_out, 1)
    dsp, lut, lp = elementwise_products(n, spec.data_bits, spec.weight_bits, target)
    lut += n * spec.accum_bits * target.consts.lut_per_product_acc_bit
    lat = 2 + _stream_extra(spec, target)
    return LayerCost(spec.name, spec.kind, lat, lat, 1, dsp=dsp, lut=lut, ff=n * spec.accum_bits,
                     products=n, lut_products=lp)


@layer_cost("passthrough")
def cost_passthrough(spec: LayerSpec, target: Target) -> LayerCost:
    """Input, reshape, flatten, concatenate, dropout: wiring in io_parallel; in io_stream a repacking pass
    that overlaps with its neighbours (no latency of its own counted)."""
    lut = spec.n_out * spec.result_bits * 0.1 if spec.io_type == "io_stream" else 0.0
    return LayerCost(spec.name, spec.kind, 0, 0, 1, lut=lut)


@layer_cost("pooling")
def cost_pooling(spec: LayerSpec, target: Target) -> LayerCost:
    """Max/average (global) pooling: ``positions`` (the window) comparisons or additions per output,
    reduced as a tree [T:nnet_pooling.h ``reduce<..., Op_max/Op_add>``]; no multipliers (an average's
    division by the window size is a constant scale, costed as LUT logic)."""
    c = target.consts
    n = max(spec.n_out, 1)
    window = max(spec.positions, 1)
    ops = n * max(window - 1, 1)
    lut = ops * spec.result_bits * LUT_POOL_PER_OP_BIT
    lat = math.ceil(math.ceil(math.log2(max(window, 2))) * c.adder_level_ns * _delay_scale(target) / target.clock_ns)
    # io_stream: one input pixel per cycle through the line buffer (``timesteps`` = input pixels)
    lat += _stream_extra(spec, target) + (max(spec.timesteps, 1) - 1 if spec.io_type == "io_stream" else 0)
    return LayerCost(spec.name, spec.kind, lat, lat, 1, lut=lut, ff=n * spec.result_bits * 0.5,
                     notes=[f"{spec.activation} pooling over {window} values: no multipliers"])


@layer_cost("unknown")
def cost_unknown(spec: LayerSpec, target: Target) -> LayerCost:
    """Fallback for a layer the estimator has no model for: element-wise LUT logic per output bit, a
    couple of cycles, no multipliers, so it cannot dominate the design's DSP/LUT; reported as a fallback
    (``details['fallback_layers']``) and as a warning."""
    n = max(spec.n_out, 1)
    lat = 2 + _stream_extra(spec, target)
    return LayerCost(spec.name, "unknown", lat, lat, 1, lut=n * spec.result_bits * UNKNOWN_LUT_PER_ELEMENT_BIT,
                     ff=n * spec.result_bits * 1.0,
                     notes=[f"WARNING: no cost model for this layer ({spec.note or 'unknown class'}); "
                            "costed by the fallback (element-wise logic, no multipliers)"])


def cost_layer(spec: LayerSpec, target: Target) -> LayerCost:
    """Cost one spec, including the repetition of an enclosing ``TimeDistributed``.

    hls4ml 1.3.0 writes a TimeDistributed as a ``for (ts < n_time_steps)`` loop in the top function
    around the wrapped layer's call [T:backends/vivado/passes/recurrent_templates.py:464-466], with
    ``#pragma HLS UNROLL``/``PIPELINE`` only when TimeStepLoopParallelism says so.  A top function with
    ``#pragma HLS PIPELINE`` (pipeline style) unrolls every loop in its body (UG1399 "pipelining a
    function unrolls the loops it contains"), so there it becomes ``unrolled``; under DATAFLOW it runs
    ``sequential``.
    """
    fn = LAYER_COSTS.get(spec.kind, LAYER_COSTS["unknown"])
    cost = fn(spec, target)
    if spec.note.startswith("WARNING"):
        cost.notes.append(spec.note)
    cost.ff *= min(2.0, max(0.2, FF_REFERENCE_CLOCK_NS / target.clock_ns))
    t = max(spec.time_steps_wrapped, 1)
    if spec.time_loop == "unrolled" and t > 1:
        cost = cost.scaled(t)
        cost.notes.append(f"TimeDistributed loop unrolled: {t} parallel copies")
    elif spec.time_loop == "sequential" and t > 1:
        cost.latency *= t
        cost.latency_best *= t
        cost.ii = cost.latency
        cost.notes.append(f"TimeDistributed loop: {t} sequential steps")
    elif spec.time_loop == "pipelined" and t > 1:
        cost.latency += (t - 1) * max(cost.ii, 1)
        cost.latency_best += (t - 1) * max(cost.ii, 1)
        cost.ii = t * max(cost.ii, 1)
        cost.notes.append(f"TimeDistributed loop pipelined over {t} steps")
    return cost


# --------------------------------------------------------------------------------------------------
# Design level
# --------------------------------------------------------------------------------------------------


@dataclass
class DesignEstimate:
    latency: int
    latency_best: int
    ii: int
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    layers: list[LayerCost]
    assumptions: list[str]
    warnings: list[str]


def estimate_design(specs: list[LayerSpec], target: Target) -> DesignEstimate:
    """Combine per-layer costs into the design's latency, II and resources.

    * ``pipeline`` style (``#pragma HLS PIPELINE`` on the top [T:writer/vivado_writer.py:205-208]):
      layers run back to back, latency = sum of layer latencies + top overhead.  If any layer is not
      itself pipelined (a recurrent loop carries its state) the top cannot start a new input before the
      last one finished: II = latency + 1 ([cal:case00] 104/105, [cal:case14] 354/354); otherwise
      II = max layer II (1 for RF=1 dense nets, [cal:case26,28,29]).
    * ``dataflow`` style (Resource strategy or io_stream): layers are concurrent processes in a chain.
      io_parallel: each stage starts when the previous finished, latency = sum, II = max stage latency
      ([cal:case16,18,19,21]: top II = GRU instance latency +1).  io_stream stages overlap while
      packets flow, so the sum is an upper bound there ([cal:case23]: +1.2%, the GRU dominates).
    """
    c = target.consts
    costs = [cost_layer(s, target) for s in specs]
    warnings = [f"{lc.name}: {n}" for lc in costs for n in lc.notes if n.startswith("WARNING")]
    total_lat = sum(lc.latency for lc in costs)
    total_best = sum(lc.latency_best for lc in costs)
    # layers that become instances with their own pipeline (wiring and relu-like activations do not)
    n_compute = sum(1 for s, lc in zip(specs, costs, strict=True)
                    if s.kind not in ("passthrough", "activation") or lc.latency > 0)
    overhead = c.top_overhead_base_cycles + math.ceil(c.top_overhead_per_layer * max(n_compute - 1, 0))
    assumptions = [
        f"pipeline style: {target.pipeline_style}",
        f"io type: {target.io_type}",
        f"clock uncertainty: {target.clock_uncertainty:.1%} of {target.clock_ns:g} ns",
        "Bidirectional directions " + ("overlap (template and calibration evidence)"
                                        if target.bidirectional_parallel else "run sequentially (upper bound)"),
    ]
    if target.pipeline_style == "dataflow":
        latency = total_lat + overhead
        latency_best = total_best + overhead
        ii = max((lc.ii if lc.pipelined else lc.latency) for lc in costs) + 1 if costs else 1
        assumptions.append("dataflow: latency = sum of stages (upper bound for io_stream), II = slowest stage")
    else:
        latency = total_lat + overhead
        latency_best = total_best + overhead
        if any(not lc.pipelined or lc.ii > 1 for lc in costs):
            ii = latency + 1 if any(not lc.pipelined for lc in costs) else max(lc.ii for lc in costs)
        else:
            ii = 1
        assumptions.append("pipeline: latency = sum of layers; II = latency+1 if a layer loops over time")
    return DesignEstimate(
        latency=int(latency),
        latency_best=int(min(latency_best, latency)),
        ii=int(max(ii, 1)),
        dsp=round(sum(lc.dsp for lc in costs)),
        lut=round(sum(lc.lut for lc in costs)),
        ff=round(sum(lc.ff for lc in costs)),
        bram_18k=round(sum(lc.bram_18k for lc in costs)),
        layers=costs,
        assumptions=assumptions,
        warnings=warnings,
    )
