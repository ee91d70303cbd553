"""Bad input, table-driven, through the real CLI (``dse.cli.main`` in a fresh ``python`` process).

Each case must give exit code 2 and ONE line on stderr, ``dse <command>: error: ...``, naming the
file/field, with nothing on stdout and nothing written: the case's directory (study file, data,
database, ``runs/``) is listed before and after, byte for byte.

The CLI runs with ``ray``, ``tensorflow``, ``keras``, ``qkeras`` and ``hls4ml`` made unimportable,
which proves that every one of these errors is found before Ray or TensorFlow would start (and
keeps the cases fast: they run a few at a time, in about a second each).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from reliability_helpers import cli_env, study_dict

BLOCKED_CLI = ("import sys; sys.modules.update(dict.fromkeys(['ray', 'tensorflow', 'keras', 'qkeras', 'hls4ml']))\n"
               "from dse.cli import main; sys.exit(main(sys.argv[1:]))")
SECRET = "s3cr3t-pw-7f1d9c"


def _yaml(**changes: Any) -> str:
    """The valid tiny study with top-level keys replaced (``None`` removes a key)."""
    d = study_dict("bad", n_trials=1)
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return yaml.safe_dump(d, sort_keys=False)


def _section(name: str, **changes: Any) -> str:
    d = study_dict("bad", n_trials=1)
    d[name] = {**d[name], **changes}
    return yaml.safe_dump(d, sort_keys=False)


def _snn(**changes: Any) -> str:
    """A valid tiny SNN study with keys of its sections replaced: ``_snn(model={"neuron": "x"})``."""
    d: dict[str, Any] = {
        "name": "bad", "family": "snn",
        "data": {"source": "synthetic", "options": {"n_trials": 30, "n_bins": 12, "n_neurons": 8, "seed": 0}},
        "model": {"hidden_units": 4}, "train": {"epochs": 1}, "quantization": {"weight_bits": 6},
        "objectives": ["behavior_r2_bin", "lut"], "n_trials": 1, "sampler": {"name": "random", "seed": 0},
    }
    for k, v in changes.items():
        d[k] = {**d.get(k, {}), **v} if isinstance(v, dict) and isinstance(d.get(k), dict) else v
    return yaml.safe_dump(d, sort_keys=False)


def _data(source: str, **options: Any) -> str:
    return _yaml(data={"source": source, **({"options": options} if options else {})})


def _npz(path: Path, **arrays: Any) -> None:
    np.savez(path, **arrays)


def _good_npz(spikes_shape=(20, 10, 5), behavior_shape=(20, 10, 2)) -> dict[str, Any]:
    return {"spikes": np.ones(spikes_shape, dtype=np.int32), "behavior": np.zeros(behavior_shape),
            "bin_width_s": 0.01}


def _existing_study(d: Path) -> None:
    """The study's database with the study in it and no trial (as after a first, empty start)."""
    import optuna

    from storage import open_storage

    with open_storage(f"sqlite:///{d / 'bad.db'}") as st:
        optuna.create_study(study_name="bad", storage=st.optuna, directions=["maximize", "minimize", "minimize"])


def _nir_chain(*nodes: Any, n_in: int = 4, name: str = "g.nir") -> Callable[[Path], None]:
    """A setup writing a NIR graph Input -> nodes... -> Output (built in the test process with ``nir``)."""

    def setup(d: Path) -> None:
        import nir

        names = ["input"] + [f"n{i}" for i in range(len(nodes))] + ["output"]
        graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n_in])),
                                    **{f"n{i}": nd() for i, nd in enumerate(nodes)},
                                    "output": nir.Output(output_type=np.array([2]))},
                             edges=list(zip(names[:-1], names[1:], strict=True)), type_check=False)
        nir.write(str(d / name), graph)
    return setup


def _lin(n_in: int = 4, n_out: int = 2) -> Callable[[], Any]:
    import nir

    return lambda: nir.Linear(weight=np.ones((n_out, n_in)))


def _lif(n: int = 2, **over: Any) -> Callable[[], Any]:
    import nir

    p = {"tau": np.full(n, 8e-4), "r": np.full(n, 8.0), "v_leak": np.zeros(n), "v_threshold": np.ones(n),
         "v_reset": np.zeros(n), **over}
    return lambda: nir.LIF(**p)


def _nir_node(kind: str, **kw: Any) -> Callable[[], Any]:
    import nir

    return lambda: getattr(nir, kind)(**kw)


HDL = ("hdl", "g.nir", "--weight-bits", "6", "-o", "out")


@dataclass
class Case:
    id: str
    expect: tuple[str, ...]  # substrings of the one error line (the file/field it names)
    study: str | None = None  # study.yaml text
    argv: tuple[str, ...] = ("run", "study.yaml")
    files: dict[str, str | bytes] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    forbid: tuple[str, ...] = ()  # must not appear in any output (secrets)


def _bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


CASES = [
    # --- the YAML itself
    Case("yaml_syntax", ("study.yaml", "invalid YAML", "line 3"),
         "name: bad\nobjectives: [behavior_r2\nn_trials: 1\n"),
    Case("yaml_not_a_mapping", ("study.yaml", "mapping"), "- name: bad\n- n_trials: 1\n"),
    Case("yaml_empty", ("study.yaml", "empty"), ""),
    Case("yaml_python_tag", ("study.yaml", "python/object/apply"),
         "name: !!python/object/apply:os.system ['touch pwned']\nobjectives: [behavior_r2]\nn_trials: 1\n"),
    Case("yaml_duplicate_key", ("study.yaml", "n_trials", "given twice"), _yaml() + "n_trials: 2\n"),
    Case("study_file_missing", ("nope.yaml", "no such file"), None, ("run", "nope.yaml")),
    Case("study_file_is_directory", ("study.yaml", "cannot read"), None, setup=lambda d: (d / "study.yaml").mkdir()),
    # --- unknown or misspelt keys
    Case("unknown_top_key", ("n_trails", "did you mean 'n_trials'"), _yaml(n_trails=1)),
    Case("misspelt_model_key", ("model.latent_unit", "latent_units"), _section("model", latent_unit=4)),
    Case("misspelt_execution_key", ("execution.worker", "workers"), _section("execution", worker=2)),
    Case("misspelt_data_option", ("data.options.n_trial", "n_trials"),
         _data("synthetic", n_trial=30, n_bins=12, n_neurons=8)),
    # --- wrong types
    Case("n_trials_not_int", ("n_trials", "'ten'"), _yaml(n_trials="ten")),
    Case("workers_float", ("execution.workers", "1.5"), _section("execution", workers=1.5)),
    Case("variational_not_bool", ("model.variational", "'yes'"), _section("model", variational="yes")),
    Case("bare_list_not_choices", ("train.epochs", "choices"), _section("train", epochs=[1, 2])),
    Case("clock_negative", ("hardware.clock_ns", "-5"), _section("hardware", clock_ns=-5)),
    # --- empty, inverted and impossible ranges
    Case("empty_choices", ("model.latent_units", "empty choices"), _section("model", latent_units={"choices": []})),
    Case("inverted_range", ("model.latent_units", "inverted range"),
         _section("model", latent_units={"low": 8, "high": 4})),
    Case("step_not_a_multiple", ("train.epochs.step", "multiple"),
         _section("train", epochs={"low": 1, "high": 10, "step": 4})),
    Case("log_range_from_zero", ("train.learning_rate.low",),
         _section("train", learning_rate={"low": 0.0, "high": 0.1, "log": True})),
    Case("n_trials_zero", ("n_trials", "greater than or equal to 1"), _yaml(n_trials=0)),
    Case("table_size_not_power_of_two", ("hls.table_size", "power of two"), _section("hls", table_size=1000)),
    Case("qat_integer_bits_above_total", ("quantization.qat_integer_bits",),
         _yaml(quantization={"mode": "qat", "qat_total_bits": 6, "qat_integer_bits": 8})),
    Case("ptq_negative_fraction", ("quantization.ptq_fractional_bits", "-1"),
         _section("quantization", ptq_fractional_bits=-1)),
    # --- registries: parts, backends, samplers, objectives
    Case("unknown_part", ("hardware.part", "xcu999"), _section("hardware", part="xcu999")),
    Case("unknown_backend", ("hardware.backend", "quartus"), _section("hardware", backend="quartus")),
    Case("backend_tool_missing", ("hardware.backend", "vitis-run", "not on PATH"), _section("hardware", backend="vitis"),
         env={"PATH": "/usr/bin:/bin"}),
    Case("backend_cannot_cost_family", ("hardware.backend", "analytic", "lowers to hls4ml"),
         _section("hardware", backend="analytic")),
    Case("family_unknown", ("family", "spiky"), _yaml(family="spiky")),
    Case("objective_not_measured_by_family", ("objectives[0]", "family 'tiny' does not measure 'npll'"),
         _yaml(family="tiny", model=None, train=None, quantization=None, hls=None, hardware=None,
               objectives=["npll", "lut"])),
    Case("unknown_sampler", ("sampler.name", "nsga3"), _yaml(sampler={"name": "nsga3"})),
    Case("unknown_objective", ("objectives[0]", "did you mean 'behavior_r2'"),
         _yaml(objectives=["behaviour_r2", "latency_us"])),
    Case("objective_wrong_direction", ("objectives[0].direction", "worst"),
         _yaml(objectives=[{"name": "behavior_r2", "direction": "minimize"}])),
    Case("no_objectives", ("objectives", "required"), _yaml(objectives=None)),
    Case("no_end", ("n_trials", "timeout_s"), _yaml(n_trials=None)),
    Case("bad_study_name", ("name", "letters, digits"), _yaml(name="../evil")),
    # --- data files
    Case("data_missing", ("data.source", "missing.npz", "no such file"), _data("missing.npz")),
    Case("data_is_directory", ("data.npz", "not a regular file"), _data("data.npz"),
         setup=lambda d: (d / "data.npz").mkdir()),
    Case("data_unknown_type", ("data.source", ".csv"), _data("data.csv"), files={"data.csv": "1,2,3\n"}),
    Case("data_corrupt_npz", ("data.npz", "npz"), _data("data.npz"), files={"data.npz": _bytes(400, 1)}),
    Case("data_corrupt_hdf5", ("data.h5", "HDF5"), _data("data.h5"), files={"data.h5": _bytes(400, 2)}),
    Case("data_corrupt_nwb", ("data.nwb", "NWB"), _data("data.nwb"), files={"data.nwb": _bytes(400, 3)}),
    Case("data_truncated_hdf5", ("data.h5",), _data("data.h5"),
         setup=lambda d: (d / "data.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + _bytes(100, 4))),
    Case("data_inconsistent_shapes", ("data.npz", "behavior", "20 x 10"), _data("data.npz"),
         setup=lambda d: _npz(d / "data.npz", **_good_npz(behavior_shape=(19, 10, 2)))),
    Case("data_nan_spikes", ("data.npz", "spikes", "NaN"), _data("data.npz"),
         setup=lambda d: _npz(d / "data.npz", **{**_good_npz(), "spikes": np.full((20, 10, 5), np.nan)})),
    Case("data_no_spikes", ("data.npz", "spikes", "missing"), _data("data.npz"),
         setup=lambda d: _npz(d / "data.npz", behavior=np.zeros((20, 10, 2)))),
    Case("data_too_few_trials", ("synthetic", "too few"), _data("synthetic", n_trials=3, n_bins=12, n_neurons=8)),
    # --- where results go
    Case("sqlite_dir_is_a_file", ("study.yaml", "storage", "not a directory"),
         _yaml(storage="sqlite:///afile/study.db"), files={"afile": "not a directory\n"}),
    Case("runs_dir_is_a_file", ("DSE_RUNS_DIR", "not a directory"), _yaml(), files={"afile": "x\n"},
         env={"DSE_RUNS_DIR": "afile/runs"}),
    Case("runs_dir_not_writable", ("DSE_RUNS_DIR", "cannot write in /proc"), _yaml(),
         env={"DSE_RUNS_DIR": "/proc/dse-test-runs"}),
    Case("sqlite_dir_not_writable", ("study.yaml", "storage", "cannot write in /proc"),
         _yaml(storage="sqlite:////proc/dse-test/study.db")),
    Case("sqlite_in_memory", ("storage", "in-memory"), _yaml(storage="sqlite:///:memory:")),
    Case("database_unreachable", ("postgresql://u@127.0.0.1:1/db", "storage", "refused"),
         _yaml(storage="postgresql://u@127.0.0.1:1/db")),
    Case("database_unreachable_with_password", ("127.0.0.1:1", "storage", "***"),
         _yaml(storage={"url": "postgresql://u@127.0.0.1:1/db", "password_env": "DSE_TEST_BAD_PW"}),
         env={"DSE_TEST_BAD_PW": SECRET}, forbid=(SECRET,)),
    Case("database_password_env_unset", ("storage.password_env", "DSE_TEST_UNSET_PW", "not set"),
         _yaml(storage={"url": "postgresql://u@127.0.0.1:1/db", "password_env": "DSE_TEST_UNSET_PW"})),
    Case("database_literal_password", ("storage.url", "literal password"),
         _yaml(storage="postgresql://u:hunter2@127.0.0.1:1/db"), forbid=("hunter2",)),
    Case("database_unknown_scheme", ("storage.url", "mongodb"), _yaml(storage="mongodb://127.0.0.1/db")),
    Case("compile_timeout_not_a_number", ("DSE_COMPILE_TIMEOUT_S", "'soon'"), _yaml(),
         env={"DSE_COMPILE_TIMEOUT_S": "soon"}),
    # --- the other commands
    Case("export_trial_does_not_exist", ("--trial", "trial 999 does not exist"), _yaml(),
         ("export", "study.yaml", "--trial", "999", "-o", "pkg"), setup=_existing_study),
    Case("status_before_any_run", ("storage", "no results yet"), _yaml(), ("status", "study.yaml")),
    Case("pareto_output_dir_missing", ("--output", "does not exist"), _yaml(),
         ("pareto", "study.yaml", "-o", "nodir/front.csv"), setup=_existing_study),
    Case("plot_without_complete_trials", ("trials", "no complete trials"), _yaml(),
         ("plot", "study.yaml", "-o", "plots"), setup=_existing_study),
    Case("dashboard_before_any_run", ("storage", "no results yet"), _yaml(), ("dashboard", "study.yaml")),
    # --- the SNN family's parameters (checked when the file is loaded or against the data: nothing written)
    Case("snn_unknown_neuron", ("model.neuron", "must be one of if, lif, lif2", "izhikevich"),
         _snn(model={"neuron": "izhikevich"})),
    Case("snn_leak_shift_zero", ("model.k_beta", ">= 1"), _snn(model={"k_beta": 0})),
    Case("snn_leak_not_a_shift", ("model.k_beta", "valid integer", "0.75"), _snn(model={"k_beta": 0.75})),
    Case("snn_lif2_alpha_zero", ("model.k_alpha", ">= 1"), _snn(model={"neuron": "lif2", "k_alpha": 0})),
    Case("snn_threshold_does_not_fit", ("model.threshold", "bits cannot hold the threshold"),
         _snn(quantization={"membrane_bits": 4, "frac_bits": 6})),
    Case("snn_threshold_negative", ("model.threshold", "> 0"), _snn(model={"threshold": -1.0})),
    Case("snn_unknown_encoding", ("model.encoding", "poisson"), _snn(model={"encoding": "poisson"})),
    Case("snn_dense_encoding_for_counts", ("model.encoding", "spike counts"), _snn(model={"encoding": "rate"})),
    Case("snn_counts_encoding_for_digits", ("model.encoding", "dense pixel features"),
         _snn(model={"task": "digits", "encoding": "binary"}, objectives=["accuracy", "lut"])),
    Case("snn_input_bits_too_wide", ("model.input_bits", "<= 8"), _snn(model={"input_bits": 12})),
    Case("snn_substeps_one", ("model.substeps", ">= 2"), _snn(model={"encoding": "substeps", "substeps": 1})),
    Case("snn_weight_bits_one", ("quantization.weight_bits", ">= 2"), _snn(quantization={"weight_bits": 1})),
    Case("snn_unknown_task", ("model.task", "mnist"), _snn(model={"task": "mnist"})),
    Case("snn_zero_hidden_units", ("model.hidden_units", ">= 1"), _snn(model={"hidden_units": 0})),
    Case("snn_too_many_layers", ("model.hidden_layers", "<= 4"), _snn(model={"hidden_layers": 9})),
    Case("snn_unknown_scan", ("hdl.scan", "sparse"), _snn(hdl={"scan": "sparse"})),
    Case("snn_leak_shift_vanishes", ("model.readout_k", "leak shift 3 >= quantization.membrane_bits 3"),
         _snn(quantization={"membrane_bits": 3})),
    Case("snn_lif2_alpha_vanishes", ("model.k_alpha", "leak shift 6 >= quantization.membrane_bits 6"),
         _snn(model={"neuron": "lif2", "k_alpha": 6, "readout_k": 2}, quantization={"membrane_bits": 6})),
    Case("snn_reuse_factor_zero", ("hdl.reuse_factor", ">= 1"), _snn(hdl={"reuse_factor": 0})),
    Case("snn_layer_reuse_not_integers", ("hdl.layer_reuse_factors", "'x' is not an integer"),
         _snn(hdl={"layer_reuse_factors": "2 x"})),
    Case("snn_layer_reuse_count", ("hdl.layer_reuse_factors", "gives 3 reuse factors for 2 layers"),
         _snn(hdl={"layer_reuse_factors": "2 1 1"})),
    Case("snn_layer_reuse_hidden_too_large",
         ("hdl.layer_reuse_factors", "layer 0 (hidden layer of 4 neurons): reuse factor 5 outside the valid range 1..4"),
         _snn(hdl={"layer_reuse_factors": "5 1"})),
    Case("snn_layer_reuse_output_too_large",
         ("hdl.layer_reuse_factors", "layer 1 (output layer of 2 neurons): reuse factor 3 outside the valid range 1..2"),
         _snn(hdl={"layer_reuse_factors": "4 3"})),
    Case("snn_qat_epochs_zero", ("quantization.qat_epochs", ">= 1"),
         _snn(quantization={"mode": "qat", "qat_epochs": 0})),
    Case("snn_hls_section_unknown", ("hls", "unknown key"), _snn(hls={"reuse_factor": 2})),
    Case("snn_hls4ml_backend", ("hardware.backend", "lowers to hdl"), _snn(hardware={"backend": "estimate"})),
    Case("snn_lfads_metric", ("objectives[0]", "family 'snn' does not measure 'npll'"),
         _snn(objectives=["npll", "lut"])),
    Case("snn_unknown_part", ("hardware.part", "unknown FPGA part 'ep4ce22'"), _snn(hardware={"part": "ep4ce22"})),
    Case("estimate_model_missing", ("nomodel.h5", "file not found"), None, ("estimate", "nomodel.h5")),
    Case("estimate_unknown_part", ("--part", "bogus"), None, ("estimate", "m.h5", "--part", "bogus"),
         files={"m.h5": b"not read"}),
    Case("nir_file_missing", ("missing.nir", "no such file"), None, ("hdl", "missing.nir", "--weight-bits", "6",
                                                                       "-o", "out")),
    Case("nir_not_hdf5", ("g.nir", "not a readable NIR graph"), None, HDL, files={"g.nir": "not hdf5\n"}),
    Case("nir_conv2d_node", ("g.nir", "'n0' (Conv2d)", "convolutions"), None, HDL,
         setup=_nir_chain(_nir_node("Conv2d", input_shape=(2, 2), weight=np.ones((1, 1, 1, 1)), stride=1, padding=0,
                                    dilation=1, groups=1, bias=np.zeros(1)), _lif())),
    Case("nir_nonzero_bias", ("'n0' (Affine)", "non-zero bias", "bias=False"), None, HDL,
         setup=_nir_chain(_nir_node("Affine", weight=np.ones((2, 4)), bias=np.array([0.5, 0.0])), _lif())),
    Case("nir_nonzero_v_leak", ("'n1' (LIF)", "non-zero v_leak"), None, HDL,
         setup=_nir_chain(_lin(), _lif(v_leak=np.full(2, 0.2)))),
    Case("nir_nonzero_v_reset", ("'n1' (LIF)", "non-zero v_reset"), None, HDL,
         setup=_nir_chain(_lin(), _lif(v_reset=np.full(2, -1.0)))),
    Case("nir_per_neuron_leaks", ("'n1' (LIF)", "per-neuron decays"), None, HDL,
         setup=_nir_chain(_lin(), _lif(tau=np.array([8e-4, 4e-4])))),
    Case("nir_weights_feed_no_neuron", ("'n2' (Linear)", "feed no neuron"), None, HDL,
         setup=_nir_chain(_lin(), _lif(), _lin(2, 2))),
    Case("nir_stateless_threshold", ("'n1' (Threshold)", "stateless"), None, HDL,
         setup=_nir_chain(_lin(), _nir_node("Threshold", threshold=np.ones(2)))),
    Case("nir_delay_node", ("'n1' (Delay)", "delays"), None, HDL,
         setup=_nir_chain(_lin(), _nir_node("Delay", delay=np.ones(2)), _lif())),
    Case("nir_dt_too_long", ("'n1' (LIF)", "wrong --dt"), None, (*HDL, "--dt", "0.01"),
         setup=_nir_chain(_lin(), _lif())),
    Case("nir_task_inputs_differ", ("g.nir", "--eval-task", "takes 4 inputs", "has 64"), None,
         (*HDL, "--eval-task", "digits"), setup=_nir_chain(_lin(), _lif())),
    Case("hdl_unknown_task", ("--eval-task", "mnist"), None, (*HDL, "--eval-task", "mnist"),
         setup=_nir_chain(_lin(), _lif())),
    Case("hdl_unknown_part", ("--part", "bogus"), None, (*HDL, "--part", "bogus"), setup=_nir_chain(_lin(), _lif())),
    Case("hdl_output_not_empty", ("out", "not an empty directory"), None, HDL,
         setup=lambda d: (_nir_chain(_lin(), _lif())(d), (d / "out").mkdir(), (d / "out" / "keep").write_text("x"))),
    Case("snn_study_nir_conv2d", ("model.nir", "'n0' (Conv2d)"),
         _snn(model={"task": "digits", "encoding": "rate", "nir": "g.nir"}, objectives=["accuracy", "lut"]),
         setup=_nir_chain(_nir_node("Conv2d", input_shape=(2, 2), weight=np.ones((1, 1, 1, 1)), stride=1, padding=0,
                                    dilation=1, groups=1, bias=np.zeros(1)), _lif())),
    Case("snn_study_nir_inputs_differ", ("model.nir", "takes 4 inputs", "'digits' has 64"),
         _snn(model={"task": "digits", "encoding": "rate", "nir": "g.nir"}, objectives=["accuracy", "lut"]),
         setup=_nir_chain(_lin(), _lif())),
    Case("hdl_threshold_does_not_fit", ("bits cannot hold the threshold",), None,
         (*HDL, "--membrane-bits", "4", "--frac-bits", "6"), setup=_nir_chain(_lin(), _lif())),
]


def _listing(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its type, size, mtime and (for files) content."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        content = p.read_bytes() if p.is_file() and not p.is_symlink() else None
        out[str(p.relative_to(root))] = (p.is_dir(), st.st_size, st.st_mtime_ns, content)
    return out


@dataclass
class Outcome:
    proc: subprocess.CompletedProcess
    before: dict[str, tuple]
    after: dict[str, tuple]
    seconds: float


def _run(case: Case, root: Path) -> Outcome:
    d = root / case.id
    d.mkdir()
    if case.study is not None:
        (d / "study.yaml").write_text(case.study)
    for name, content in case.files.items():
        (d / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    if case.setup is not None:
        case.setup(d)
    before = _listing(d)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", BLOCKED_CLI, *case.argv], cwd=d, capture_output=True, text=True,
                       env=cli_env(**case.env), timeout=300)
    return Outcome(p, before, _listing(d), time.monotonic() - t0)


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> dict[str, Outcome]:
    """Run the selected cases, a few at a time (each is a separate process)."""
    selected = {item.callspec.params["case"].id for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    root = tmp_path_factory.mktemp("bad_input")
    cases = [c for c in CASES if c.id in selected]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1) * 2) as pool:
        return dict(zip([c.id for c in cases], pool.map(lambda c: _run(c, root), cases), strict=True))


def test_there_are_enough_cases():
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused(case: Case, outcomes: dict[str, Outcome]):
    o = outcomes[case.id]
    p = o.proc
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    command = case.argv[0]
    assert p.returncode == 2 and len(lines) == 1, f"exit {p.returncode}\nstderr:\n{p.stderr[-3000:]}"
    line = lines[0]
    assert line.startswith(f"dse {command}: error: "), line
    for needle in case.expect:
        assert needle in line, f"{needle!r} not in: {line}"
    assert p.stdout == "", p.stdout
    for secret in case.forbid:
        assert secret not in p.stderr + p.stdout
    assert o.after == o.before, f"written: {sorted(set(o.after) ^ set(o.before)) or 'changed files'}"
