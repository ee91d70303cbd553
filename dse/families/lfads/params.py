"""The LFADS family: its study parameters and how a design point becomes model/train/hls settings.

Quantization bits follow the ap_fixed convention throughout: integer bits *include* the sign bit,
so ``ptq_integer_bits: 6`` with ``ptq_fractional_bits: 10`` is ``ap_fixed<16,6>``, and
``qat_total_bits: 10`` with ``qat_integer_bits: 3`` is ``ap_fixed<10,3>``, i.e. QKeras'
``quantized_bits(10, 2)`` (QKeras counts integer bits without the sign; :class:`QuantSpec` keeps
that convention, so ``build`` converts). One convention in the file avoids a silent off-by-one
between the two modes.

Defaults come from :class:`LFADSConfig`, :class:`TrainConfig` and :class:`QuantSpec` themselves,
so a study that leaves a setting out trains exactly what ``dse train`` trains -- except
``quantization.qat_init``: a study's QAT points fine-tune the shared float model by default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields
from typing import Any

from dse.cost.parts import full_part_name
from dse.families.lfads.config import CAUSAL_FIELDS, LFADSConfig, QuantSpec, TrainConfig
from dse.families.records import DesignPoint
from dse.hls.reuse import valid_reuse_factors
from search_spaces.params import ParamDef, above, at_least, at_most, below, power_of_two
from search_spaces.specs import Choices, Fixed, FloatRange, IntRange, Spec

#: The YAML sections of the family's parameters, in file order.
SECTIONS = ("model", "train", "quantization", "hls")

# Keras layer names of the LFADS model (dse.families.lfads.model; not imported: it pulls in TensorFlow;
# tests/test_lfads_family.py keeps them equal).
LAYERS = ("encoder", "ic", "generator", "factors", "logrates")
ZERO_INPUTS = ("gen_input",)  # the generator's all-zero input: hls4ml cannot convert a Lambda making zeros
#: The lagged controller's step input that carries the encoder's state (dse.families.lfads.step.LAG_INPUT;
#: tests/test_lfads_causal.py keeps them equal): typed as the encoder's state.
LAG_STATE_INPUTS = {"encoder_state_lag": "encoder"}
RECURRENT_LAYERS = ("encoder", "generator")
#: The matrix products a reuse factor applies to: ``<layer>`` (its input product) or ``recurrent_<layer>``.
PRODUCTS = (*LAYERS, *(f"recurrent_{layer}" for layer in RECURRENT_LAYERS))

MODE = "quantization.mode"
CAUSAL = (("model.causal", (True,)),)
PTQ = ((MODE, ("ptq",)),)
QAT = ((MODE, ("qat",)),)

_STRATEGY = {"latency": "Latency", "resource": "Resource"}
_HLS_BACKEND = {"vivado": "Vivado", "vitis": "Vitis"}  # the HLS flavour hls4ml writes for a tool's backend


def hls_backend(cost_backend: str, default: str = "Vitis") -> str:
    """The hls4ml flavour a cost backend builds (``Vivado`` for vivado, ``Vitis`` for vitis), else ``default``."""
    return _HLS_BACKEND.get(cost_backend, default)
_MAX_QAT_BITS = 32  # QuantSpec's limit


def _default(cls: type, name: str) -> Any:
    for f in fields(cls):
        if f.name == name:
            if f.default is MISSING:
                raise KeyError(f"{cls.__name__}.{name} has no default")
            return f.default
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def _m(key: str, type_: type, doc: str, *checks, **kw) -> ParamDef:
    return ParamDef("model", key, type_, kw.pop("default", _default(LFADSConfig, key)), doc, tuple(checks), **kw)


def _t(key: str, type_: type, doc: str, *checks, **kw) -> ParamDef:
    return ParamDef("train", key, type_, kw.pop("default", _default(TrainConfig, key)), doc, tuple(checks), **kw)


_QUANT_DEFAULT = QuantSpec()
QAT_INIT_DEFAULT = "float"

PARAMS: tuple[ParamDef, ...] = (
    # --- model (LFADSConfig; n_neurons and n_bins come from the data)
    _m("encoder_units", int, "E: encoder GRU units per direction", at_least(1)),
    _m("latent_units", int, "Z: initial-condition size = generator GRU units", at_least(1)),
    _m("factors", int, "F: factors", at_least(1)),
    _m("input_dropout", float, "dropout on the spikes during training", at_least(0.0), below(1.0)),
    _m("ic_dropout", float, "dropout on the encoder output during training", at_least(0.0), below(1.0)),
    _m("variational", bool, "VAE variant: IC mean + log-variance, KL term"),
    _m("kl_weight", float, "weight of the KL term (variational only)", at_least(0.0)),
    _m("kl_warmup_epochs", int, "epochs over which the KL term ramps up (variational only)", at_least(0)),
    _m("l2_gen_recurrent", float, "L2 penalty on the generator's recurrent kernel", at_least(0.0)),
    # The causal variant's settings. ``model.causal`` has no default value in a design point (absent unless a
    # study sets it), so that every existing study's points, training keys and designs stay what they were.
    _m("causal", bool, "the causal variant: forward encoder, controller inferring the generator's inputs bin by "
       "bin, learned or windowed initial state (default: the bidirectional model)", default=None),
    _m("ic_window", int, "causal: bins the generator's initial state is inferred from (0: learned; the window's "
       "bins wait for it)", at_least(0), when=CAUSAL),
    _m("controller_units", int, "causal: C, controller GRU units", at_least(1), when=CAUSAL),
    _m("controller_inputs", int, "causal: U, inferred generator inputs per bin", at_least(1), when=CAUSAL),
    _m("controller_lag", int, "causal: 1 = the controller reads the encoder's state after the previous bin (no "
       "pass-through of a bin's spikes to its own rates), 0 = after this bin", at_least(0), at_most(1), when=CAUSAL),
    # --- training (TrainConfig)
    _t("epochs", int, "maximum epochs", at_least(1)),
    _t("batch_size", int, "mini-batch size in trials", at_least(1)),
    _t("learning_rate", float, "initial Adam learning rate", above(0.0)),
    _t("clipnorm", float, "gradient-norm clipping", above(0.0)),
    _t("lr_patience", int, "epochs without improvement before the learning rate drops", at_least(0)),
    _t("lr_factor", float, "learning-rate drop factor", above(0.0), below(1.0)),
    _t("min_lr", float, "learning-rate floor", at_least(0.0)),
    _t("early_stopping_patience", int, "epochs without improvement before stopping", at_least(0)),
    _t("seed", int, "training seed (weights, dropout, shuffling)", at_least(0)),
    # --- quantization: the mode first, because the bit widths depend on it
    ParamDef("quantization", "mode", str, "ptq", "ptq: post-training (hls4ml) | qat: QKeras training",
             allowed=("ptq", "qat")),
    ParamDef("quantization", "ptq_integer_bits", int, 6, "PTQ integer bits I incl. sign: ap_fixed<I+F,I>",
             (at_least(1),), when=PTQ),
    ParamDef("quantization", "ptq_fractional_bits", int, 10, "PTQ fractional bits F: ap_fixed<I+F,I>",
             (at_least(0),), when=PTQ),
    ParamDef("quantization", "qat_total_bits", int, _QUANT_DEFAULT.bits, "QAT total bits W: ap_fixed<W,I>",
             (at_least(2), at_most(_MAX_QAT_BITS)), when=QAT),
    ParamDef("quantization", "qat_integer_bits", int, _QUANT_DEFAULT.integer + 1,
             "QAT integer bits I incl. sign: ap_fixed<W,I> = QKeras quantized_bits(W, I-1)",
             (at_least(1),), when=QAT),
    ParamDef("quantization", "qat_activations", str, _QUANT_DEFAULT.activations,
             "QKeras sigmoid/tanh: hard (piece-wise linear) | real (lookup tables)",
             allowed=("hard", "real"), when=QAT),
    # The one default that differs from QuantSpec's (scratch, what `dse train --qat-bits` trains, having no
    # float model to start from): in a study QAT points fine-tune the float model PTQ points share, as good
    # or better in 6-10x fewer epochs at the paper size (bench/results/qat_gap.md).
    ParamDef("quantization", "qat_init", str, QAT_INIT_DEFAULT,
             "QAT start: scratch (train the QKeras model from random weights) | float (fine-tune the float model "
             "PTQ designs share, trained first if missing)", allowed=("scratch", "float"), when=QAT),
    ParamDef("quantization", "qat_finetune_epochs", int, _QUANT_DEFAULT.finetune_epochs,
             "epochs of quantized fine-tuning from the float model", (at_least(1),),
             when=QAT + (("quantization.qat_init", ("float",)),)),
    # --- hls4ml
    ParamDef("hls", "reuse_factor", int, 1, "model-wide reuse factor", (at_least(1),)),
    *(ParamDef("hls", f"reuse_factor_{layer}", int, None, f"reuse factor of layer {layer!r} (default: "
               "the model-wide one)", (at_least(1),)) for layer in LAYERS),
    *(ParamDef("hls", f"recurrent_reuse_factor_{layer}", int, None, f"reuse factor of {layer!r}'s "
               "recurrent product (default: the layer's)", (at_least(1),)) for layer in RECURRENT_LAYERS),
    # One searched value for a whole set of reuse factors: a parallelism a user designed by hand (folded,
    # balanced, ...) is one categorical choice, not the product of independent per-layer choices.
    ParamDef("hls", "parallelism", str, "", "reuse factors of several products as one value, e.g. 'encoder=70 "
             "recurrent_encoder=64 ic=128' (products: " + ", ".join(PRODUCTS) + "); overrides the model-wide "
             "one for those products; '' sets none", (lambda v: _parallelism_problem(v),)),
    ParamDef("hls", "strategy", str, "latency", "hls4ml strategy", allowed=("latency", "resource")),
    ParamDef("hls", "io_type", str, "io_parallel", "hls4ml io type", allowed=("io_parallel", "io_stream")),
    ParamDef("hls", "table_size", int, 1024, "sigmoid/tanh lookup-table entries", (power_of_two,), ranges=False),
)


def check_causal(specs: Mapping[str, Spec]) -> list[tuple[str, str]]:
    """A study's causal design streams one bin's step (:mod:`dse.families.lfads.step`), which is built for a
    learned initial state only: with an inferred one (``ic_window`` > 0) the generator waits for the window
    and then catches up, a second design beside the step that does not exist yet. ``dse train --causal
    --ic-window K`` trains such a model."""
    if True not in (_values(specs, "model.causal") or []):
        return []
    bad = [k for k in _values(specs, "model.ic_window") or [] if k]
    if bad:
        return [("model.ic_window", f"{', '.join(map(str, bad))}: a causal design in a study streams one bin's "
                                    "step, built for a learned initial state only (ic_window 0); dse train "
                                    "--causal --ic-window K trains one")]
    return []


def check_ic_window(specs: Mapping[str, Spec], n_bins: int) -> list[tuple[str, str]]:
    """The IC window must end inside the trial: 0 <= ic_window < bins per trial."""
    if True not in (_values(specs, "model.causal") or []):
        return []
    bad = [k for k in _values(specs, "model.ic_window") or [] if k >= n_bins]
    if bad:
        return [("model.ic_window", f"{', '.join(map(str, bad))} not below the data's {n_bins} bins per trial")]
    return []


def parse_parallelism(text: str) -> dict[str, int]:
    """``"encoder=70 recurrent_encoder=64"`` (spaces or commas between entries) -> ``{product: reuse factor}``.

    Raises ``ValueError`` naming the entry at fault.
    """
    out: dict[str, int] = {}
    for entry in text.replace(",", " ").split():
        product, sep, value = entry.partition("=")
        if not sep or product not in PRODUCTS:
            raise ValueError(f"{entry!r} is not <product>=<reuse factor> with a product among {', '.join(PRODUCTS)}")
        if product in out:
            raise ValueError(f"{product!r} is given twice")
        try:
            rf = int(value)
        except ValueError:
            raise ValueError(f"{entry!r}: the reuse factor is not an integer") from None
        if rf < 1:
            raise ValueError(f"{entry!r}: the reuse factor must be at least 1")
        out[product] = rf
    return out


def _parallelism_problem(value: Any) -> str | None:
    try:
        parse_parallelism(str(value))
    except ValueError as e:
        return str(e)
    return None


def check_parallelism(specs: Mapping[str, Spec]) -> list[tuple[str, str]]:
    """A product's reuse factor is set in one place: by ``hls.parallelism`` or by its own parameter."""
    for text in _values(specs, "hls.parallelism") or []:
        for product in parse_parallelism(str(text)):
            own = _rf_param(product)
            if own in specs:
                return [("hls.parallelism", f"{text!r} sets {product}, which {own} also sets; "
                                            "give each reuse factor in one place")]
    return []


def _rf_param(product: str) -> str:
    """The parameter of one product's own reuse factor."""
    if product.startswith("recurrent_"):
        return f"hls.recurrent_reuse_factor_{product.removeprefix('recurrent_')}"
    return f"hls.reuse_factor_{product}"


def _extremes(spec: Spec | None) -> tuple[Any, Any] | None:
    """The smallest and largest value a numeric spec can take."""
    if isinstance(spec, Fixed):
        return spec.value, spec.value
    if isinstance(spec, IntRange | FloatRange):
        return spec.low, spec.high
    if isinstance(spec, Choices):
        return min(spec.values), max(spec.values)
    return None


def _mode_possible(specs: Mapping[str, Spec], mode: str) -> bool:
    s = specs.get(MODE)
    return isinstance(s, Fixed) and s.value == mode or isinstance(s, Choices) and mode in s.values


def check_qat_bits(specs: Mapping[str, Spec]) -> list[tuple[str, str]]:
    """Every QAT combination must leave at least one fractional bit: max(integer) < min(total).

    Checked over the whole declared space (the largest integer-bit value against the smallest
    total), not just some corner: the samplers draw the two independently, so any combination can
    occur and an invalid one would only fail later, inside a trial.
    """
    if not _mode_possible(specs, "qat"):
        return []
    total, integer = _extremes(specs.get("quantization.qat_total_bits")), _extremes(
        specs.get("quantization.qat_integer_bits"))
    if total is None or integer is None or integer[1] < total[0]:
        return []
    return [("quantization.qat_integer_bits",
             f"can be {integer[1]} while quantization.qat_total_bits can be {total[0]}; every combination "
             f"must leave a fractional bit, so the largest integer bits must be below the smallest total "
             f"bits")]


def matmul_shapes(n_neurons: int, encoder_units: int, latent_units: int, factors: int) -> dict[tuple[str, str],
                                                                                             tuple[int, int]]:
    """(inputs, outputs) of every matrix product of the LFADS graph, keyed like
    :func:`dse.hls.convert.matmul_sizes` (a test keeps the two equal): GRU gates are 3 x units wide, the
    encoder is bidirectional (the IC layer reads both directions), the generator's input is the one
    all-zero feature."""
    n, e, z, f = n_neurons, encoder_units, latent_units, factors
    return {("encoder", "input"): (n, 3 * e), ("encoder", "recurrent"): (e, 3 * e), ("ic", "input"): (2 * e, z),
            ("generator", "input"): (1, 3 * z), ("generator", "recurrent"): (z, 3 * z),
            ("factors", "input"): (z, f), ("logrates", "input"): (f, n)}


def step_matmul_shapes(n_neurons: int, encoder_units: int, latent_units: int, factors: int, controller_units: int,
                       controller_inputs: int) -> dict[tuple[str, str], tuple[int, int]]:
    """The same for one bin's step of the causal model (:mod:`dse.families.lfads.step`): a forward encoder,
    the controller GRU reading the encoder's state, its inputs to the generator, no IC layer."""
    n, e, z, f, c, u = n_neurons, encoder_units, latent_units, factors, controller_units, controller_inputs
    return {("encoder", "input"): (n, 3 * e), ("encoder", "recurrent"): (e, 3 * e),
            ("controller", "input"): (e, 3 * c), ("controller", "recurrent"): (c, 3 * c),
            ("con_input", "input"): (c, u), ("generator", "input"): (u, 3 * z),
            ("generator", "recurrent"): (z, 3 * z), ("factors", "input"): (z, f), ("logrates", "input"): (f, n)}


def _architectures(specs: Mapping[str, Spec], n_neurons: int) -> Iterator[tuple[str, dict]]:
    """Every (architecture, its matrix products) the study can build: the bidirectional model's for each
    encoder/latent/factor size and, where ``model.causal`` can be true, the causal step's as well."""
    causal = _values(specs, "model.causal") or [False]
    for e in _values(specs, "model.encoder_units") or []:
        for z in _values(specs, "model.latent_units") or []:
            for f in _values(specs, "model.factors") or []:
                if False in causal:
                    yield f"encoder_units {e}, latent_units {z}, factors {f}", matmul_shapes(n_neurons, e, z, f)
                if True not in causal:
                    continue
                for c in _values(specs, "model.controller_units") or []:
                    for u in _values(specs, "model.controller_inputs") or []:
                        yield (f"causal, encoder_units {e}, latent_units {z}, factors {f}, controller_units {c}, "
                               f"controller_inputs {u}", step_matmul_shapes(n_neurons, e, z, f, c, u))


def _values(specs: Mapping[str, Spec], name: str) -> list[Any] | None:
    spec = specs.get(name)
    if spec is None:
        default = next(p.default for p in PARAMS if p.name == name)
        return None if default is None else [default]
    if isinstance(spec, Fixed):
        return [spec.value]
    if isinstance(spec, Choices):
        return list(spec.values)
    if isinstance(spec, IntRange):
        return list(range(spec.low, spec.high + 1, spec.step or 1))  # log or not: every integer can occur
    return None


def check_reuse_factors(specs: Mapping[str, Spec], n_neurons: int) -> list[tuple[str, str]]:
    """Every reuse factor the study can choose must be valid for its product under the Resource strategy.

    hls4ml would silently use the closest valid value and dse's converter refuses that, so without this
    check each such trial would fail at compile time. Checked for every architecture the study can
    build (the product sizes depend on the units and on the data's neuron count) with hls4ml's rule
    (:mod:`dse.hls.reuse`, the same for the Vivado and Vitis backends).
    """
    strategies = _values(specs, "hls.strategy") or []
    if "resource" not in strategies:
        return []
    problems: dict[str, str] = {}
    parallelisms = [parse_parallelism(str(v)) for v in _values(specs, "hls.parallelism") or []]
    for arch, shapes in _architectures(specs, n_neurons):
        for (layer, kind), (n_in, n_out) in shapes.items():
            candidates = ([f"hls.recurrent_reuse_factor_{layer}"] if kind == "recurrent" else []) + [
                f"hls.reuse_factor_{layer}", "hls.reuse_factor"]
            name = next(c for c in candidates if c == "hls.reuse_factor" or c in specs)
            product = f"recurrent_{layer}" if kind == "recurrent" else layer
            sets = [p.get(product) for p in parallelisms]
            checks = [("hls.parallelism", sorted({rf for rf in sets if rf is not None}))]
            if None in sets:  # some parallelism value leaves this product to its own parameter
                checks.append((name, _values(specs, name)))
            valid = valid_reuse_factors(n_in, n_out)
            for name, rfs in checks:
                if not rfs or name in problems:
                    continue
                bad = [rf for rf in rfs if rf not in valid]
                if not bad:
                    continue
                problems[name] = (
                        f"{', '.join(map(str, bad))} not valid for {layer}'s {kind} product {n_in}x{n_out} "
                        f"({arch}, {n_neurons} neurons) with the Resource strategy; valid: "
                        f"{', '.join(map(str, valid[:16]))}" + (" ..." if len(valid) > 16 else ""))
    return list(problems.items())


#: Bits added to the QAT quantizers' ap_fixed<W,I> for the values without a quantizer (see below).
QAT_EXTRA_INTEGER_BITS, QAT_EXTRA_FRACTIONAL_BITS = 8, 4


def qat_value_precision(total_bits: int, integer_bits: int) -> tuple[int, int]:
    """``(W', I')`` of ``HLSDesign.precision`` for a QAT design with quantizers ap_fixed<W,I>.

    That precision only types the values that have no quantizer: accumulators (gate pre-activations,
    products) and the outputs of the Dense layers (factors, log-rates), which QKeras computes in float.
    They wrap around (AP_WRAP) when they overflow, so they need integer headroom: with the quantizers'
    own width, log-rates below -2^(I-1) wrapped (C-sim NPLL 0.49 vs 0.40 in QKeras on
    examples/quick.yaml); with 4 more integer bits (``ap_fixed<W+8,I+4>``, dse's earlier rule)
    the paper-size 12- and 16-bit QAT models still lost 0.07 behaviour R2 between QKeras and the C
    simulation. Measured on the 12-bit model (bench/results/qat_gap.md): ap_fixed<20,7> C-sim R2 0.759,
    <24,11> (same fractional bits, 4 more integer) 0.832, <40,16> 0.833, QKeras 0.832; a 64x larger or
    finer activation table changed nothing. So: 8 more integer bits and the 4 more fractional bits as
    before, ``ap_fixed<W+12, I+8>``.
    """
    return total_bits + QAT_EXTRA_INTEGER_BITS + QAT_EXTRA_FRACTIONAL_BITS, integer_bits + QAT_EXTRA_INTEGER_BITS


def _with_parallelism(p: dict[str, Any], causal: bool = False) -> dict[str, Any]:
    """The per-layer reuse factors with ``hls.parallelism``'s entries in place (it overrides). A causal
    design's step has no IC layer: its reuse factor, if set, applies to the study's bidirectional points
    only; the controller's products take the model-wide reuse factor."""
    layer = {k: p[f"hls.reuse_factor_{k}"] for k in LAYERS if f"hls.reuse_factor_{k}" in p}
    recurrent = {k: p[f"hls.recurrent_reuse_factor_{k}"] for k in RECURRENT_LAYERS
                 if f"hls.recurrent_reuse_factor_{k}" in p}
    for product, rf in parse_parallelism(str(p.get("hls.parallelism", ""))).items():
        if product.startswith("recurrent_"):
            recurrent[product.removeprefix("recurrent_")] = rf
        else:
            layer[product] = rf
    if causal:
        layer.pop("ic", None)
    return {"layer_reuse_factor": layer, "recurrent_reuse_factor": recurrent}


def build(point: DesignPoint) -> dict[str, Any]:
    """Split a complete LFADS design point into the settings the trial code consumes.

    Returns ``{"model", "train", "hls"}`` (the core adds ``family``, ``params`` and ``hardware``):

    - ``model``: keyword arguments of :class:`LFADSConfig` except ``n_neurons``/``n_bins`` (from the
      data), with ``quant`` a :class:`QuantSpec` dict for QAT and ``None`` for PTQ, so
      ``LFADSConfig.from_dict({**model, "n_neurons": n, "n_bins": t})`` builds it.
    - ``train``: keyword arguments of :class:`TrainConfig`.
    - ``hls``: the fields of :class:`dse.hls.design.HLSDesign` (``HLSDesign.from_dict(hls)``): quantization,
      precision ``ap_fixed<W,I>``, reuse factors per layer, strategy, io type, table size, full part
      name, clock period and the hls4ml backend flavour (Vivado for the ``vivado`` cost backend, else Vitis).
    """
    p, hardware = point.params, point.hardware
    mode = p[MODE]
    if mode == "ptq":
        integer, width = p["quantization.ptq_integer_bits"], p["quantization.ptq_integer_bits"] + p[
            "quantization.ptq_fractional_bits"]
        quant = None
    else:
        qbits, qint = p["quantization.qat_total_bits"], p["quantization.qat_integer_bits"]
        quant = {"bits": qbits, "integer": qint - 1, "activations": p["quantization.qat_activations"],
                 "init": p["quantization.qat_init"]}
        if quant["init"] == "float":
            quant["finetune_epochs"] = p["quantization.qat_finetune_epochs"]
        width, integer = qat_value_precision(qbits, qint)
    model = {d.key: p[d.name] for d in PARAMS if d.section == "model" and d.key not in CAUSAL_FIELDS}
    causal = bool(p.get("model.causal"))
    if causal:  # a bidirectional design's model settings are what they were without the variant
        model.update({k: p[f"model.{k}"] for k in CAUSAL_FIELDS})
    model["quant"] = quant
    train = {d.key: p[d.name] for d in PARAMS if d.section == "train"}
    hls = {
        "quantization": mode,
        "precision": f"ap_fixed<{width},{integer}>",
        "reuse_factor": p["hls.reuse_factor"],
        **_with_parallelism(p, causal),
        "strategy": _STRATEGY[p["hls.strategy"]],
        "io_type": p["hls.io_type"],
        "table_size": p["hls.table_size"],
        "zero_inputs": [] if causal else list(ZERO_INPUTS),
        **({"state_inputs": dict(LAG_STATE_INPUTS)} if causal and p.get("model.controller_lag") else {}),
        "part": full_part_name(hardware.part),
        "clock_period": float(hardware.clock_ns),
        "backend": hls_backend(hardware.backend),
    }
    return {"model": model, "train": train, "hls": hls}
