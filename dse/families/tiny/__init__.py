"""The ``tiny`` family: a fixed-point causal linear decoder, in numpy only -- the worked example.

It exists so that the service itself (driver, storage, resume, faults, dashboards) can be tested in
seconds without TensorFlow, torch or g++, and as the smallest complete example of a family; this
folder is everything it takes (plus its line in :data:`dse.families.BUILT_IN`):

- parameters: ``model.lags`` (bins of spike history), ``model.ridge`` (regularisation),
  ``quantization.weight_bits`` / ``quantization.frac_bits`` (signed fixed point of the weights),
  ``hardware_model.parallel_macs`` (multipliers working at once), ``train.seconds`` (a minimum wall time
  of the "training", so that tests can interrupt a running trial);
- the trial: fit a ridge decoder from the last ``lags`` bins of spikes to behaviour on the training
  trials (float), quantize its weights, evaluate the integer decoder bit-exactly on the test trials
  (behaviour R², bin by bin and per trial) and count its multiply-accumulate datapath's cycles and
  resources (:class:`~dse.cost.analytic.AnalyticDesign`, costed by the ``analytic`` backend);
- export: the integer weights and a README;
- re-costing (``dse verify``, ``hardware.verify``): ``lowered_design`` counts the datapath again from the
  trial's stored weights.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from dse.families.base import Family
from dse.families.records import DesignPoint, ExportRequest, HardwareTarget, TrainReport, TrainRequest
from dse.trial.context import TrialContext
from dse.trial.result import TrialResult
from objectives.decoding import BEHAVIOR_R2, BEHAVIOR_R2_BIN
from search_spaces.params import ParamDef, above, at_least, at_most

PARAMS = (
    ParamDef("model", "lags", int, 3, "bins of spike history the decoder reads (causal)", (at_least(1),)),
    ParamDef("model", "ridge", float, 1.0, "ridge regularisation of the float fit", (above(0.0),)),
    ParamDef("train", "seconds", float, 0.0, "minimum seconds a training takes (to test interrupting trials)",
             (at_least(0.0),)),
    ParamDef("quantization", "weight_bits", int, 8, "signed weight bits", (at_least(2), at_most(32))),
    ParamDef("quantization", "frac_bits", int, 6, "fractional bits of the weights", (at_least(0),)),
    ParamDef("hardware_model", "parallel_macs", int, 4, "multiply-accumulate units working at once",
             (at_least(1),)),
)


def _lagged(spikes: np.ndarray, lags: int) -> np.ndarray:
    """(trials, bins, neurons) -> (trials, bins, neurons * lags): bin t sees bins t-lags+1 .. t (zeros before 0)."""
    n, t, c = spikes.shape
    padded = np.concatenate([np.zeros((n, lags - 1, c), spikes.dtype), spikes], axis=1)
    return np.concatenate([padded[:, i:i + t] for i in range(lags)], axis=2)


def quantize(w: np.ndarray, bits: int, frac: int) -> np.ndarray:
    """Round to ``frac`` fractional bits and saturate to a signed ``bits``-bit integer."""
    hi = 2 ** (bits - 1) - 1
    return np.clip(np.round(w * 2.0**frac), -hi - 1, hi).astype(np.int64)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean(axis=0)) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def _datapath(w_int: np.ndarray, bits: int, par: int, weights: Path) -> Any:
    """The multiply-accumulate datapath of an integer weight matrix (what the ``analytic`` backend costs)."""
    from dse.cost.analytic import AnalyticDesign

    macs = int(w_int.size)
    cycles = -(-macs // par) + 2  # one MAC per unit per cycle, plus input and output registers
    acc_bits = bits + 8 + int(np.ceil(np.log2(max(2, w_int.shape[0]))))
    return AnalyticDesign("tiny-mac-v1", latency_cycles=cycles, ii_cycles=cycles,
                          dsp=par if bits > 10 else 0, lut=par * (bits * 8 if bits <= 10 else 30) + 40,
                          ff=par * acc_bits + 32, bram_18k=-(-macs * bits // 18432),
                          details={"macs": macs, "weights_file": str(weights)})


class TinyFamily(Family):
    name = "tiny"
    description = "fixed-point causal linear decoder (numpy; the service's own test family)"
    sections = ("model", "train", "quantization", "hardware_model")
    params = PARAMS
    objectives = (BEHAVIOR_R2, BEHAVIOR_R2_BIN)
    lowering = "analytic"
    causal = True
    default_backend = "analytic"
    default_part = "xc7z020"
    default_clock_ns = 10.0
    cheap_params = ("quantization.weight_bits", "quantization.frac_bits", "hardware_model.parallel_macs")
    free_params = ("hardware_model.parallel_macs",)  # the analytic cost only

    def cross_checks(self, specs: Any) -> list[tuple[str, str]]:
        from search_spaces.specs import values_or_ends

        if "quantization.frac_bits" not in specs or "quantization.weight_bits" not in specs:
            return []  # one of them was refused on its own (a problem already recorded)
        if max(values_or_ends(specs["quantization.frac_bits"])) >= min(
                values_or_ends(specs["quantization.weight_bits"])):
            return [("quantization.frac_bits", "must be below quantization.weight_bits for every combination "
                                               "(one bit is the sign)")]
        return []

    def build(self, point: DesignPoint) -> dict[str, Any]:
        return {
            "model": {"lags": point["model.lags"], "ridge": point["model.ridge"]},
            "train": {"seconds": point["train.seconds"]},
            "quantization": {"weight_bits": point["quantization.weight_bits"],
                             "frac_bits": point["quantization.frac_bits"]},
            "hardware_model": {"parallel_macs": point["hardware_model.parallel_macs"]},
        }

    def run(self, trial: TrialContext) -> None:
        from dse.cost.registry import get_backend
        from dse.trial.runner import load_split

        d = trial.design
        lags, bits, frac = d["model"]["lags"], d["quantization"]["weight_bits"], d["quantization"]["frac_bits"]
        with trial.phase("data"):
            split = load_split(trial.spec.data)
            x_train = _lagged(split.train.spikes, lags).reshape(-1, split.train.n_neurons * lags)
            y_train = split.train.behavior.reshape(-1, split.train.behavior.shape[-1])
        with trial.phase("train"):
            t0 = time.perf_counter()
            x1 = np.hstack([x_train, np.ones((len(x_train), 1))])
            w = np.linalg.solve(x1.T @ x1 + d["model"]["ridge"] * np.eye(x1.shape[1]), x1.T @ y_train)
            time.sleep(max(0.0, d["train"]["seconds"] - (time.perf_counter() - t0)))
        with trial.phase("simulate"):
            w_int = quantize(w, bits, frac)
            test = split.test
            x_test = _lagged(test.spikes, lags).reshape(-1, test.n_neurons * lags).astype(np.int64)
            acc = np.hstack([x_test, np.ones((len(x_test), 1), np.int64)]) @ w_int  # exact integer MACs
            pred = acc.astype(np.float64) / 2.0**frac
            y = test.behavior.reshape(-1, test.behavior.shape[-1])
            n_trials = test.spikes.shape[0]
            float_pred = np.hstack([_lagged(test.spikes, lags).reshape(-1, test.n_neurons * lags),
                                    np.ones((len(x_test), 1))]) @ w
            trial.result.accuracy["float"] = {"behavior_r2_bin": _r2(y, float_pred)}
            trial.result.accuracy["integer"] = accuracy = {
                "behavior_r2_bin": _r2(y, pred),
                "behavior_r2": _r2(y.reshape(n_trials, -1), pred.reshape(n_trials, -1))}
            weights = trial.write_json("weights.json", {"frac_bits": frac, "weights": w_int.tolist()},
                                       kind="model")
        with trial.phase("cost"):
            design = _datapath(w_int, bits, d["hardware_model"]["parallel_macs"], weights)
            report = get_backend(d.hardware.backend).cost(design, part=d.hardware.part, clock_ns=d.hardware.clock_ns)
        trial.finish(accuracy, report)

    def lowered_design(self, request: ExportRequest) -> Any:
        """The datapath of a finished trial, counted again from its stored integer weights."""
        from dse.errors import ConfigError

        art = next((a for a in request.result.artifacts if a.kind == "model"), None)
        if art is None or not Path(art.path).is_file():
            raise ConfigError(request.source, f"trial {request.number}: its weights are gone", "--trial")
        w_int = np.asarray(json.loads(Path(art.path).read_text())["weights"], dtype=np.int64)
        d = request.design
        return _datapath(w_int, d["quantization"]["weight_bits"], d["hardware_model"]["parallel_macs"], Path(art.path))

    def note_sections(self, result: TrialResult) -> list[str]:
        from dse.markdown import table

        details = (result.hardware or {}).get("details") or {}
        if "macs" not in details:
            return []
        macs, par = details["macs"], result.params.get("hardware_model.parallel_macs")
        return ["### Decoder datapath", "", *table(("weights (MACs per bin)", "MAC units", "cycles per bin"),
                                                   [(macs, par, (result.hardware or {}).get("latency_cycles"))])]

    def export(self, record: ExportRequest, out: Path) -> list[str]:
        from dse.errors import ConfigError

        art = next((a for a in record.result.artifacts if a.kind == "model"), None)
        if art is None or not Path(art.path).is_file():
            raise ConfigError(record.source, f"trial {record.number}: its weights are gone", "--trial")
        (out / "weights.json").write_text(Path(art.path).read_text())
        hw = record.result.hardware or {}
        (out / "README.md").write_text(
            f"# {record.study}, trial {record.number}: tiny fixed-point decoder\n\n"
            f"`weights.json`: integer weights (rows: lagged inputs then a bias; value = int * 2^-frac_bits).\n"
            f"Cost ({hw.get('backend')}): {hw.get('latency_cycles')} cycles, {hw.get('lut')} LUT, "
            f"{hw.get('dsp')} DSP.\n")
        return ["weights.json", "README.md"]

    def add_train_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--data", default="synthetic", help="'synthetic' or a .npz/.h5/.nwb file")
        parser.add_argument("--lags", type=int, default=3)

    def train(self, request: TrainRequest) -> TrainReport:
        import tempfile

        from dse.trial.result import TrialResult
        from dse.trial.spec import TrialSpec

        point = {p.name: p.default for p in self.params} | {"model.lags": request.lags}
        hw = HardwareTarget(self.default_backend, self.default_part, self.default_clock_ns)
        with tempfile.TemporaryDirectory() as tmp:
            spec = TrialSpec("train", 0, self.design(point, hw),
                             {"source": request.data, "options": {}, "split_seed": 0}, ["behavior_r2"], tmp, tmp, tmp)
            trial = TrialContext(spec, TrialResult(params=point))
            self.run(trial)
        out = {**trial.result.accuracy["integer"], "lut": trial.result.hardware["lut"]}
        return TrainReport(out, tuple(f"{k}: {v}" for k, v in out.items()))


FAMILY = TinyFamily
