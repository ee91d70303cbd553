"""The estimator's calibration rows: real csynth reports of hls4ml designs and how each design is rebuilt.

The reports are the rows of ``hls_reports.csv`` (14) and ``hls_reports_extra.csv`` (47) in
``<shared>/calibration`` (``$DSE_SHARED_DIR``, by default ``../shared`` beside the repository; the reference
data are never copied into it), with the raw reports of each case under ``<shared>/fixtures``.  For every
row the estimator claims to cover, :func:`build` makes the design's LayerSpecs -- for the original
stock-hls4ml rows by building the equivalent Keras model and converting it with hls4ml 1.3.0 (so the
ModelGraph extractor is exercised); for the extra rows from the layer sizes, zero-weight counts, reuse
factors and per-layer types the CSV's ``model``/``precision`` columns read from each project's firmware; for
the custom-template rows of YanLunHuang's Alveo kernels by writing the LayerSpecs directly.  Fitting and
cross-validation on these rows are in :mod:`dse.cost.estimator_fit`; ``bench/estimator_fidelity.py`` writes
the results.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dse.cost.estimator import design_family
from dse.cost.estimator_layers import LayerSpec
from dse.errors import UserInputError

REPO = Path(__file__).resolve().parents[2]
QUANTITIES = ("latency", "dsp", "lut", "ff", "bram")
REPORT_COLUMNS = {"latency": "latency_worst", "dsp": "DSP", "lut": "LUT", "ff": "FF", "bram": "BRAM_18K"}
CSV_FILES = ("hls_reports.csv", "hls_reports_extra.csv")


def shared_dir() -> Path:
    """Where the reference material is: ``$DSE_SHARED_DIR``, else ``../shared`` beside the repository."""
    return Path(os.environ.get("DSE_SHARED_DIR", REPO.parent / "shared"))


# Parts not in dse.cost.parts, mapped to one of the same DSP/LUT family (only the family matters to the
# estimator): xcu280 has exactly the xcu55c's totals (avail_* columns of case23); xc7z007s is a 7-series
# Zynq like xc7z020; xcku115 (Kintex UltraScale) has DSP48E2 slices like the UltraScale+ parts.
PART_ALIASES = {"xcu280": "xcu55c", "xc7z007s": "xc7z020", "xcku115": "xcu250"}


# --------------------------------------------------------------------------------------------------
# Row definitions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One calibration row and how to rebuild its design.

    ``layers`` (stock rows) is a small Keras recipe: ("gru", units, return_sequences),
    ("dense", units, activation), ("td_dense", units, activation), ("flatten",), ("activation", name).
    ``specs`` (custom rows) returns LayerSpecs directly.
    """

    case: str
    part: str
    clock_ns: float
    precision: str = "ap_fixed<16,6>"
    reuse_factor: int = 1
    strategy: str = "Latency"
    io_type: str = "io_parallel"
    backend: str = "Vivado"
    input_shape: tuple[int, ...] = ()
    layers: tuple[tuple[Any, ...], ...] = ()
    specs: Callable[[], list[LayerSpec]] | None = None
    claims: tuple[str, ...] = QUANTITIES
    why_not: str = ""
    note: str = ""
    source: str = ""


def _alveo_autoencoder_specs(bits: int, accum_bits: int) -> list[LayerSpec]:
    """The BiGRU autoencoder of YanLunHuang's Alveo kernels (rows 07/10) as LayerSpecs.

    Sizes and reuse factors from the CSV's model/reuse_factor columns: BiGRU(64+64, n_in=70, T=73,
    RF 70/64) -> Dense 128->64 (RF 128) -> GRU(64, n_in=64, T=73, RF 64/64, initial state) -> pointwise
    Conv1D 64->4 (RF 64) -> Conv1D 4->70 (RF 4) over 73 positions; io_stream, Resource.
    """
    common = {"data_bits": bits, "weight_bits": bits, "result_bits": bits, "accum_bits": accum_bits,
              "strategy": "resource", "io_type": "io_stream"}
    return [
        LayerSpec("bidirectional", "gru", n_in=70, n_out=128, n_state=64, timesteps=73, directions=2,
                  reuse_factor=70, recurrent_reuse_factor=64, **common),
        LayerSpec("dense", "dense", n_in=128, n_out=64, reuse_factor=128, **common),
        LayerSpec("gru_dec", "gru", n_in=64, n_out=64, n_state=64, timesteps=73, static=False,
                  reuse_factor=64, recurrent_reuse_factor=64, **common),
        LayerSpec("factors", "conv1d", n_in=64, n_out=4, positions=73, reuse_factor=64, **common),
        LayerSpec("rates", "conv1d", n_in=4, n_out=70, positions=73, reuse_factor=4, **common),
        LayerSpec("concat", "passthrough", n_in=74 * 73, n_out=74 * 73, **common),
    ]


_CUSTOM = ("custom recurrent templates (bidirectional wrapper, array-streamed GRU) in an Alveo kernel, "
           "Vivado HLS 2019.2: not what stock hls4ml 1.3.0 generates")

_HAND_LSTM = ("hand-written LSTM templates inside an hls4ml project (Que's nnet_lstm.h variants, "
              "custom attention/repeat-vector templates): not code hls4ml 1.3.0 generates")
_PRE01 = "hls4ml's pre-0.1 templates (2017, nnet::layer_config, Vivado HLS 2016.4): not the 1.3.0 dense templates"
_FORCED_DSP = ("``config_op mul -impl dsp`` in the project's tcl forces every multiply into DSPs; hls4ml never "
               "writes that directive and the estimator models the default binding (<= 8-bit weights in LUTs), "
               "so DSP/LUT/FF are not claimed (latency and BRAM are)")
_FORCED_FABRIC = ("``config_op mul -impl fabric`` forces every multiply, the softmax's too, into LUTs (reported DSP 0); "
                  "the dense products' binding is the estimator's own (<= 8-bit weights in LUTs), so latency, LUT, "
                  "FF and BRAM are claimed, DSP is not")
#: Extra rows not covered at all, with the reason.
EXTRA_NOT_COVERED = {"new2_00": _HAND_LSTM, "new2_01": _HAND_LSTM, "new2_02": _HAND_LSTM, "new2_03": _HAND_LSTM,
                     "new2_57": _PRE01, "new2_58": _PRE01, "new2_59": _PRE01}

ROWS: tuple[Row, ...] = (
    Row("case00", "xc7z020", 5.0, input_shape=(5, 10), layers=(("gru", 1, True), ("td_dense", 1, "linear"))),
    Row("case05", "xcu50", 5.0, precision="ap_fixed<16,8>", strategy="Resource", io_type="io_stream",
        specs=lambda: [LayerSpec("bidirectional", "gru", n_in=70, n_out=128, n_state=64, timesteps=73,
                                 directions=2, reuse_factor=70, recurrent_reuse_factor=64, data_bits=16,
                                 weight_bits=16, result_bits=16, accum_bits=16, strategy="resource",
                                 io_type="io_stream")],
        claims=(), why_not=_CUSTOM),
    Row("case07", "xcu50", 5.0, precision="ap_fixed<16,8>", strategy="Resource", io_type="io_stream",
        specs=lambda: _alveo_autoencoder_specs(16, 16), claims=(), why_not=_CUSTOM),
    Row("case10", "xcu50", 4.0, precision="ap_fixed<8,2>", strategy="Resource", io_type="io_stream",
        specs=lambda: _alveo_autoencoder_specs(8, 32), claims=(), why_not=_CUSTOM),
    Row("case14", "xc7vx690t", 5.0, input_shape=(20, 6),
        layers=(("gru", 20, False), ("dense", 64, "relu"), ("dense", 1, "sigmoid"))),
    Row("case16", "xcvu13p", 5.0, precision="ap_fixed<18,8>", strategy="Resource", input_shape=(20, 6),
        layers=(("gru", 5, False), ("dense", 5, "relu"), ("dense", 1, "sigmoid"))),
    Row("case18", "xcu250", 5.0, reuse_factor=30, strategy="Resource", input_shape=(20, 6),
        layers=(("gru", 20, False), ("dense", 64, "relu"), ("dense", 1, "sigmoid"))),
    Row("case19", "xcu250", 5.0, reuse_factor=30, strategy="Resource", input_shape=(15, 6),
        layers=(("gru", 120, False), ("dense", 50, "relu"), ("dense", 10, "relu"), ("dense", 3, "softmax"))),
    Row("case21", "xcu250", 5.0, precision="ap_fixed<18,8>", reuse_factor=30, strategy="Resource",
        input_shape=(100, 3),
        layers=(("gru", 128, False), ("dense", 256, "linear"), ("dense", 128, "linear"), ("dense", 5, "softmax")),
        claims=("latency", "dsp", "ff", "bram"),
        why_not="its csynth LUT estimate (1.2M) is 10x what Vivado synthesis used (vsynth_LUT 119805); the "
                "dense instances alone report ~300 LUT per product vs 50-140 in every other Resource row"),
    Row("case23", "xcu280", 5.0, precision="ap_fixed<20,10>", reuse_factor=4096, strategy="Resource",
        io_type="io_stream", input_shape=(100, 3),
        layers=(("gru", 32, True), ("flatten",), ("dense", 32, "relu"), ("dense", 16, "relu"),
                ("dense", 5, "softmax"))),
    Row("case25", "xc7z020", 5.0, io_type="io_stream", input_shape=(16,), layers=(("dense", 5, "relu"),)),
    Row("case26", "xc7vx690t", 5.0, input_shape=(16,), layers=(("dense", 4, "linear"),)),
    Row("case28", "xcu250", 5.0, backend="Vitis", input_shape=(16,),
        layers=(("dense", 64, "relu"), ("dense", 32, "relu"), ("dense", 32, "relu"), ("dense", 5, "softmax"))),
    Row("case29", "xc7z020", 25.0, input_shape=(4,), layers=(("dense", 128, "relu"), ("dense", 3, "softmax"))),
)


def _bits(precision: str) -> int:
    m = re.search(r"ap_u?fixed<\s*(\d+)", precision)
    if not m:
        raise ValueError(f"no ap_fixed width in {precision!r}")
    return int(m.group(1))


def _typed(precision_col: str) -> dict[str, list[int]]:
    """``in ap_fixed<8,2>; w ap_fixed<8,2>; out A/B/C; acc D`` -> {"in": [8], "w": [8], "out": [16, ...]}."""
    out: dict[str, list[int]] = {}
    for part in precision_col.split(";"):
        part = part.strip()
        key, _, rest = part.partition(" ")
        if key in ("in", "w", "out", "acc"):
            out[key] = [_bits(p) for p in re.findall(r"ap_u?fixed<[^>]*>", rest)]
    return out


_DENSE_RX = re.compile(r"Dense (\d+)->(\d+)(?: \[RF(\d+)\])?(?: \[(\d+) zero w\])?")


def extra_row_specs(model_col: str, precision_col: str, rf: int) -> list[LayerSpec]:
    """LayerSpecs of a stock-hls4ml MLP row of ``hls_reports_extra.csv``.

    The ``model`` column lists the layers as the firmware has them (``Dense 274->8 [RF1] [924 zero w] ->
    ReLU -> ...``); the ``precision`` column the input, weight, output/activation and accumulator types
    (``in``/``w``/``out``/``acc``; the last ``out`` type is the ReLU output, which feeds the next Dense).
    A missing ``acc`` is the output width (hls4ml's default accumulator = the layer's result type).
    """
    types = _typed(precision_col)
    in_bits = types.get("in", [16])[0]
    w_bits = types.get("w", [16])[0]
    outs = types.get("out", [16])
    res_bits = outs[0]
    act_bits = outs[-1] if len(outs) > 1 else res_bits
    acc_bits = types.get("acc", [res_bits])[0]
    specs: list[LayerSpec] = []
    data_bits = in_bits
    tokens = [t.strip() for t in re.split(r" -> ", model_col)]
    for i, tok in enumerate(tokens):
        name = f"l{i}"
        m = _DENSE_RX.match(tok)
        if m:
            n_in, n_out = int(m.group(1)), int(m.group(2))
            specs.append(LayerSpec(name, "dense", n_in=n_in, n_out=n_out, reuse_factor=int(m.group(3) or rf),
                                   n_zeros=int(m.group(4) or 0), data_bits=data_bits, weight_bits=w_bits,
                                   accum_bits=acc_bits, result_bits=res_bits))
            data_bits = res_bits
        elif tok.lower() == "relu":
            n = specs[-1].n_out
            specs.append(LayerSpec(name, "activation", n_in=n, n_out=n, activation="relu", data_bits=data_bits,
                                   result_bits=act_bits))
            data_bits = act_bits
        elif tok.lower() in ("sigmoid", "tanh"):
            n = specs[-1].n_out
            specs.append(LayerSpec(name, "activation", n_in=n, n_out=n, activation=tok.lower(),
                                   data_bits=data_bits, result_bits=res_bits))
        elif tok == "Softmax":
            n = specs[-1].n_out
            specs.append(LayerSpec(name, "softmax", n_in=n, n_out=n, activation="softmax", data_bits=data_bits,
                                   result_bits=res_bits))
        elif tok == "ApplyAlpha":
            n = specs[-1].n_out
            specs.append(LayerSpec(name, "elementwise", n_in=n, n_out=n, data_bits=data_bits,
                                   weight_bits=res_bits, accum_bits=res_bits, result_bits=res_bits))
            data_bits = res_bits
        else:
            raise ValueError(f"unknown layer {tok!r} in {model_col!r}")
    return specs


def mult_impl(case: str, shared: Path | None = None) -> str | None:
    """The ``config_op mul -impl X`` directive of an extra row's project tcl files (None: none)."""
    impls = set()
    for tcl in ((shared or shared_dir()) / "fixtures" / "hls_reports_extra" / case).glob("*.tcl"):
        impls.update(re.findall(r"^\s*config_op\s+mul\s+-impl\s+(\w+)", tcl.read_text(), re.MULTILINE))
    if len(impls) > 1:
        raise ValueError(f"{case}: conflicting config_op mul directives {impls}")
    return impls.pop() if impls else None


def extra_rows(reported: dict[str, dict[str, Any]], shared: Path | None = None) -> list[Row]:
    """Rows of ``hls_reports_extra.csv`` (cases ``new2_*``); ``shared`` holds their projects' tcl files."""
    rows = []
    for case, r in sorted(reported.items()):
        if not case.startswith("new2_"):
            continue
        part = str(r["part"]).split("-")[0]
        clock = float(r["clock_target_ns"])
        if case in EXTRA_NOT_COVERED:
            rows.append(Row(case, part, clock, claims=(), why_not=EXTRA_NOT_COVERED[case]))
            continue
        impl = mult_impl(case, shared)
        model_col, prec_col, rf = str(r["model"]), str(r["precision"]), int(str(r["reuse_factor"]))
        rows.append(Row(
            case, part, clock, reuse_factor=rf, strategy="Latency",
            specs=lambda m=model_col, p=prec_col, k=rf: extra_row_specs(m, p, k),
            claims={"dsp": ("latency", "bram"), "fabric": ("latency", "lut", "ff", "bram")}.get(impl or "", QUANTITIES),
            why_not={"dsp": _FORCED_DSP, "fabric": _FORCED_FABRIC}.get(impl or "", ""),
            source="LayerSpecs from the row's firmware columns"))
    return rows


# --------------------------------------------------------------------------------------------------
# Building specs
# --------------------------------------------------------------------------------------------------


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def keras_model(row: Row) -> Any:
    """The Keras 2 model of a stock row (random weights: the estimator does not read weight values)."""
    _quiet_tf()
    from tensorflow import keras

    inp = keras.Input(row.input_shape)
    x = inp
    for layer in row.layers:
        kind = layer[0]
        if kind == "gru":
            x = keras.layers.GRU(layer[1], return_sequences=layer[2])(x)
        elif kind == "dense":
            x = keras.layers.Dense(layer[1], activation=layer[2])(x)
        elif kind == "td_dense":
            x = keras.layers.TimeDistributed(keras.layers.Dense(layer[1], activation=layer[2]))(x)
        elif kind == "flatten":
            x = keras.layers.Flatten()(x)
        else:
            raise ValueError(f"unknown recipe layer {layer}")
    return keras.Model(inp, x)


def convert(model: Any, *, precision: str, reuse_factor: int, strategy: str, io_type: str, backend: str,
            part: str, clock_ns: float, granularity: str = "model", output_dir: str | None = None) -> Any:
    """Convert a Keras model with hls4ml 1.3.0 (no C++ compile, no synthesis).

    ``granularity='model'`` gives every type the default precision, as the 2019-2023 hls4ml versions of
    the calibration runs did (no automatic accumulator widening).
    """
    _quiet_tf()
    import tempfile

    import hls4ml

    from dse.cost.parts import full_part_name

    cfg = hls4ml.utils.config_from_keras_model(model, granularity=granularity, backend=backend,
                                               default_precision=precision, default_reuse_factor=reuse_factor)
    cfg["Model"]["Strategy"] = strategy
    # Conversion writes nothing (only write()/compile() would): a path is enough, no directory is made,
    # so thousands of estimates leave no empty temp dirs behind.
    out = output_dir or str(Path(tempfile.gettempdir()) / "dse-estimate-unwritten")
    return hls4ml.converters.convert_from_keras_model(
        model, hls_config=cfg, backend=backend, io_type=io_type, part=full_part_name(part),
        clock_period=clock_ns, output_dir=out)


@dataclass
class Built:
    """A row's design as the estimator sees it: LayerSpecs, the top-level pipeline style (None: from the
    specs), how they were made, and the row's repository and clock uncertainty."""

    row: Row
    specs: list[LayerSpec]
    pipeline_style: str | None
    source: str
    repo: str = ""
    clock_uncertainty: float | None = None  # fraction of the clock, from the row's csynth report

    @property
    def family(self) -> str:
        """The row's layer family (as ``dse.cost.estimator.design_family`` groups designs)."""
        return design_family([s.kind for s in self.specs])


def report_clock_uncertainty(case: str, path: str, clock_ns: float, shared: Path | None = None) -> float | None:
    """The clock uncertainty (fraction of the clock) the row's csynth XML report states."""
    import xml.etree.ElementTree as ET

    folder = "hls_reports_extra" if case.startswith("new2_") else "hls_reports"
    name = Path(path).name.removesuffix(".rpt") + ".xml"
    for xml in ((shared or shared_dir()) / "fixtures" / folder / case).glob("*.xml"):
        if xml.name == name or xml.name.endswith("__" + name):
            node = ET.parse(xml).getroot().find(".//ClockUncertainty")
            if node is not None and node.text:
                return float(node.text) / clock_ns
    return None


def build(row: Row, repo: str = "") -> Built | None:
    """LayerSpecs of a row: via an hls4ml 1.3.0 conversion for stock rows, directly for custom ones; None
    for a row the estimator does not model at all."""
    if row.specs is not None:
        return Built(row, row.specs(), None, row.source or "LayerSpecs (custom template)", repo)
    if not row.layers:
        return None
    from dse.cost.estimator_extract import specs_from_model

    part = PART_ALIASES.get(row.part, row.part)
    hls_model = convert(keras_model(row), precision=row.precision, reuse_factor=row.reuse_factor,
                        strategy=row.strategy, io_type=row.io_type, backend=row.backend, part=part,
                        clock_ns=row.clock_ns)
    specs, info = specs_from_model(hls_model)
    return Built(row, specs, info.pipeline_style, "Keras -> hls4ml 1.3.0 -> extractor", repo)


# --------------------------------------------------------------------------------------------------
# Loading the reports
# --------------------------------------------------------------------------------------------------


def load_reported(shared: Path | None = None) -> dict[str, dict[str, Any]]:
    """Both calibration CSVs as {case: row} (read from ``shared`` or :func:`shared_dir`)."""
    import pandas as pd

    out: dict[str, dict[str, Any]] = {}
    for name in CSV_FILES:
        path = (shared or shared_dir()) / "calibration" / name
        if not path.is_file():
            raise UserInputError(path, "calibration report not found (set DSE_SHARED_DIR to the folder that "
                                       "holds calibration/ and fixtures/)")
        df = pd.read_csv(path, dtype={"case": str, "reuse_factor": str})
        out.update({str(r["case"]): r.to_dict() for _, r in df.iterrows()})
    return out


def all_rows(reported: dict[str, dict[str, Any]], shared: Path | None = None) -> list[Row]:
    """Every calibration row, covered or not: the hand-written :data:`ROWS` and the extra CSV's rows."""
    return [*ROWS, *extra_rows(reported, shared)]


def build_all(reported: dict[str, dict[str, Any]] | None = None, shared: Path | None = None) -> list[Built]:
    """The designs of every row the estimator models, with their repository and clock uncertainty."""
    reported = reported if reported is not None else load_reported(shared)
    out = []
    for r in all_rows(reported, shared):
        b = build(r, repo=str(reported[r.case]["repo"]))
        if b is not None:
            b.clock_uncertainty = report_clock_uncertainty(r.case, str(reported[r.case]["path"]), r.clock_ns,
                                                           shared)
            out.append(b)
    return out
