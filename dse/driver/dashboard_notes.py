"""What optuna-dashboard shows of a study: metric names, a note per finished trial, the trial's files.

The driver calls :class:`DashboardWriter` from ``_record`` (and ``_fail``), for every family alike: it
reads only the generic :class:`~dse.trial.result.TrialResult` fields.

- **Metric names**: ``study.set_metric_names(objective names)`` on every study the driver opens, also
  on studies created by an older dse (the dashboard then says ``latency_us`` instead of ``Objective 1``),
  and a study note (family, backend and part, objectives, constraints, what is searched).
- **A Markdown note** on every finished trial (complete, pruned, failed), written with optuna-dashboard's
  note API (:func:`optuna_dashboard.save_note`): status and failure reason, the design point, the
  objectives, a hardware table with utilisation bars, the estimator's uncertainty, reuse-factor
  substitutions and fallback layers when the report has them, float vs bit-accurate accuracy, seconds
  per phase, cache hits, where it ran and the artifacts (uploaded and skipped).
- **Artifacts**: every file of ``TrialResult.artifacts`` (hardware report, model, plots, ...) and every
  folder (the hls4ml/VHDL project, as ``<folder>.tar.gz``) uploaded with
  :func:`optuna.artifacts.upload_artifact` into a :class:`optuna.artifacts.FileSystemArtifactStore` in
  ``runs/<study>/artifacts`` (:func:`artifact_dir`), which ``dse dashboard`` serves. Uploads are
  bounded: a file (or a folder's archive) over ``DSE_DASHBOARD_MAX_ARTIFACT_MB`` megabytes (default
  64; 0 uploads nothing) is skipped, and a folder whose files add up to more than four times that is
  not even archived; the note lists what was skipped and why. Files the driver cannot read (a trial
  that ran on another machine without a shared file system) are listed as missing.

Nothing here may fail a trial or the study: every error is logged as a warning and the trial is
recorded as if the dashboard did not exist.
"""

from __future__ import annotations

import logging
import os
import tarfile
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from dse.markdown import bar, table
from dse.markdown import cell as _cell
from dse.markdown import fmt as _fmt
from dse.trial.result import TrialResult

log = logging.getLogger(__name__)

MAX_ARTIFACT_ENV = "DSE_DASHBOARD_MAX_ARTIFACT_MB"
DEFAULT_MAX_ARTIFACT_MB = 64.0
#: A folder is archived only when its files add up to at most this many times the upload limit.
FOLDER_FACTOR = 4
ARCHIVE_MIMETYPE = "application/gzip"


def artifact_dir(runs_root: Path | str) -> Path:
    """Where a study's artifact store lives: ``runs/<study>/artifacts``."""
    return Path(runs_root) / "artifacts"


def artifact_store(runs_root: Path | str, *, create: bool = True) -> optuna.artifacts.FileSystemArtifactStore:
    path = artifact_dir(runs_root)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return optuna.artifacts.FileSystemArtifactStore(str(path))


def max_artifact_bytes() -> int:
    """The upload limit per file, from ``DSE_DASHBOARD_MAX_ARTIFACT_MB`` (default 64 MB)."""
    raw = os.environ.get(MAX_ARTIFACT_ENV, "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_MAX_ARTIFACT_MB
    except ValueError:
        log.warning("%s=%r is not a number; using %g MB", MAX_ARTIFACT_ENV, raw, DEFAULT_MAX_ARTIFACT_MB)
        mb = DEFAULT_MAX_ARTIFACT_MB
    return max(0, int(mb * 1024 * 1024))


def set_metric_names(study: optuna.Study, names: Sequence[str]) -> None:
    """Name the study's objectives for the dashboard (only when they differ; never raises)."""
    try:
        if list(study.metric_names or []) != list(names):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(list(names))
    except Exception as e:  # the dashboard is a view: a failure here must not stop the study
        log.warning("could not set the metric names of study %s: %s: %s", study.study_name, type(e).__name__, e)


# ---------------------------------------------------------------------------------------------- artifacts


@dataclass
class Uploaded:
    kind: str
    filename: str
    size: int
    artifact_id: str


@dataclass
class Skipped:
    kind: str
    name: str
    reason: str


@dataclass
class Uploads:
    uploaded: list[Uploaded] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _archive(folder: Path, out_dir: Path, name: str) -> Path:
    """``folder`` as ``out_dir/<name>.tar.gz`` holding ``<folder name>/...`` (links stored as links, never
    followed)."""
    out = out_dir / f"{name}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return out


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 100 * 1024 else f"{n / 1024:.1f} kB"


def upload_artifacts(store: Any, trial: optuna.trial.Trial, result: TrialResult, *,
                     limit: int | None = None) -> Uploads:
    """Upload ``result.artifacts`` to ``store`` as artifacts of the running ``trial`` (before ``tell``:
    Optuna records them in the trial's system attributes). Per-file errors are skipped, not raised."""
    limit = max_artifact_bytes() if limit is None else limit
    out = Uploads()
    seen: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="dse-artifacts-") as tmp:
        for a in result.artifacts:
            p = Path(a.path)
            if str(p) in seen:
                continue
            seen.add(str(p))
            try:
                if not p.exists():
                    out.skipped.append(Skipped(a.kind, p.name, "missing on the driver's machine"))
                    continue
                mimetype = None
                if p.is_dir():
                    raw = _folder_size(p)
                    if raw > FOLDER_FACTOR * limit:
                        out.skipped.append(Skipped(a.kind, p.name + "/", f"folder of {_mb(raw)}, over "
                                                   f"{FOLDER_FACTOR} x the {_mb(limit)} limit ({MAX_ARTIFACT_ENV})"))
                        continue
                    sub = Path(tmp) / str(len(seen))
                    sub.mkdir()
                    # named by kind (a cache folder's name is a hash), made unique within the trial
                    name = a.kind if not any(u.filename == f"{a.kind}.tar.gz" for u in out.uploaded) \
                        else f"{a.kind}-{len(seen)}"
                    path, mimetype = _archive(p, sub, name), ARCHIVE_MIMETYPE
                else:
                    path = p
                size = path.stat().st_size
                if size > limit:
                    out.skipped.append(Skipped(a.kind, path.name, f"{_mb(size)}, over the {_mb(limit)} limit "
                                               f"({MAX_ARTIFACT_ENV})"))
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    aid = optuna.artifacts.upload_artifact(artifact_store=store, file_path=str(path),
                                                           study_or_trial=trial, mimetype=mimetype)
                out.uploaded.append(Uploaded(a.kind, path.name, size, aid))
            except Exception as e:
                log.warning("trial %s: artifact %s not uploaded: %s: %s", trial.number, p, type(e).__name__, e)
                out.skipped.append(Skipped(a.kind, p.name, f"upload failed: {type(e).__name__}"))
    return out


# -------------------------------------------------------------------------------------------------- note


_RESOURCE_LABEL = {"dsp": "DSP", "lut": "LUT", "ff": "FF", "bram_18k": "BRAM (18K)", "uram": "URAM"}


def _hardware(hw: dict[str, Any]) -> list[str]:
    lines = ["### Hardware", ""]
    head = f"**{hw.get('backend', '?')}**"
    if hw.get("tool_version"):
        head += f" ({_cell(str(hw['tool_version']))})"
    head += f" · part `{hw.get('part', '?')}` at {_fmt(hw.get('clock_ns'))} ns"
    if hw.get("clock_est_ns") is not None:
        head += f" (estimated clock {_fmt(hw.get('clock_est_ns'))} ns)"
    lines += [head, ""]
    lat = [f"latency **{_fmt(hw.get('latency_cycles'))} cycles**"]
    if hw.get("latency_us") is not None:
        lat.append(f"= {_fmt(hw.get('latency_us'))} µs")
    if hw.get("latency_cycles_best") not in (None, hw.get("latency_cycles")):
        lat.append(f"(best case {_fmt(hw.get('latency_cycles_best'))})")
    if hw.get("ii_cycles") is not None:
        lat.append(f"· II {_fmt(hw.get('ii_cycles'))} cycles")
    lines += [" ".join(lat), ""]
    util = hw.get("utilisation") or {}
    rows = [(_RESOURCE_LABEL.get(r, r), hw.get(r), bar(util.get(r)))
            for r in ("dsp", "lut", "ff", "bram_18k", "uram") if r in hw or r in util]
    lines += table(("resource", "used", "utilisation of the part"), rows)
    details = hw.get("details") or {}
    unc = details.get("uncertainty")
    if isinstance(unc, dict) and unc:
        basis = details.get("uncertainty_basis")
        lines += ["**Estimator uncertainty** (relative error" + (f"; {_cell(str(basis))}" if basis else "") + ")", ""]
        lines += table(("metric", "± relative error"),
                        [(str(k), "–" if v is None else f"± {100 * float(v):.1f} %") for k, v in unc.items()])
    return lines + _backend_sections(hw)


def _backend_sections(hw: dict[str, Any]) -> list[str]:
    """What the report's cost backend adds to the note (its own details), under where the numbers come from."""
    from dse.cost.registry import backend_class, hardware_source

    try:
        sections = backend_class(str(hw.get("backend"))).note_sections(hw)
    except KeyError:
        sections = []
    return [f"*Hardware numbers from: {hardware_source(hw)}*", "", *sections]


def _accuracy(acc: dict[str, dict[str, Any]]) -> list[str]:
    sources = [s for s in acc if acc.get(s)]
    if not sources:
        return []
    sources.sort(key=lambda s: (s != "float", s))  # float first, then the bit-accurate ones
    metrics: list[str] = []
    for s in sources:
        metrics += [m for m in acc[s] if m not in metrics]
    label = {"float": "float"}
    header = ["metric", *(label.get(s, f"{s} (bit-accurate)") for s in sources)]
    rows = [(m, *(_fmt(acc[s].get(m)) for s in sources)) for m in metrics]
    if "float" in sources and len(sources) > 1:
        header.append("bit-accurate − float")
        rows = [(*r, _fmt(_diff(acc[sources[1]].get(m), acc["float"].get(m)))) for r, m in zip(rows, metrics,
                                                                                              strict=True)]
    return ["### Accuracy: float vs bit-accurate", "", *table(header, rows)]


def _diff(a: Any, b: Any) -> float | None:
    try:
        return float(a) - float(b)
    except (TypeError, ValueError):
        return None


def trial_note(number: int, result: TrialResult, *, objectives: Sequence[str] = (),
               directions: Sequence[str] = (), uploads: Uploads | None = None,
               worker: dict[str, Any] | None = None, duplicate_of: int | None = None,
               artifact_root: str | None = None, sections: Sequence[str] = ()) -> str:
    """The Markdown note of trial ``number`` (see the module docstring)."""
    status = str(result.status)
    lines = [f"## Trial {number}: {status}", ""]
    if result.fail_reason:
        what = "Pruned" if status == "pruned" else "Failure reason"
        lines += [f"**{what}:**", "", "```", str(result.fail_reason)[:4000], "```", ""]
    if duplicate_of is not None:
        lines += [f"Same design point as trial {duplicate_of}: its result is recorded again, not re-run "
                  "(its artifacts are on that trial).", ""]
    if result.params:
        lines += ["### Design point", ""]
        lines += table(("parameter", "value"), [(f"`{k}`", _fmt(v)) for k, v in result.params.items()])
    if result.objectives:
        dirs = dict(zip(objectives, directions, strict=False))
        mine = [o for o in objectives if o in result.objectives]
        lines += ["### Objectives", ""]
        lines += table(("metric", "value", "goal"), [(f"**{o}**", _fmt(result.objectives[o]), dirs.get(o, ""))
                                                      for o in mine])
        also = [(o, _fmt(v)) for o, v in result.objectives.items() if o not in dirs]
        if also:  # three metric/value pairs a row
            rows = [sum(also[i:i + 3], ()) for i in range(0, len(also), 3)]
            rows = [r + ("", "") * (3 - len(r) // 2) for r in rows]
            lines += ["Also measured:", "", *table(("metric", "value") * 3, rows)]
    if result.hardware:
        lines += _hardware(result.hardware)
    lines += _accuracy(result.accuracy or {})
    lines += list(sections)
    if result.timings:
        total = result.timings.get("total")
        rows = [(k, f"{float(v):.3f}") for k, v in result.timings.items() if k != "total" and v is not None]
        lines += ["### Timings (seconds per phase)", ""]
        if total is not None:
            rows.append(("**total**", f"**{float(total):.3f}**"))
        lines += table(("phase", "s"), rows)
    if result.cache:
        hits = ", ".join(f"{k}: {'hit' if v else 'miss'}" for k, v in result.cache.items())
        lines += [f"**Cache:** {hits}", ""]
    if worker:
        where = f"**Ran on** host `{worker.get('host', '?')}`"
        if worker.get("ray_node"):
            where += f", Ray node `{str(worker['ray_node'])[:16]}`"
        lines += [where, ""]
    if uploads is not None and (uploads.uploaded or uploads.skipped):
        lines += ["### Artifacts", ""]
        if uploads.uploaded:
            lines += ["Listed under *Artifacts* below (download from there):", ""]
            lines += [f"- `{u.filename}` ({u.kind}, {_mb(u.size)})" for u in uploads.uploaded]
            lines.append("")
        if uploads.skipped:
            lines += ["Not uploaded:", ""]
            lines += [f"- `{s.name}` ({s.kind}): {s.reason}" for s in uploads.skipped]
            lines.append("")
        if artifact_root:
            lines += [f"Trial files: `{artifact_root}`", ""]
    if result.versions:
        lines += ["*Versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()) + "*", ""]
    return "\n".join(lines).rstrip() + "\n"


def study_note(cfg: Any) -> str:
    """The study's note: what is searched, for which objectives, under which constraints, on what."""
    from search_spaces.specs import Fixed, describe

    hw = cfg.hardware
    lines = [f"## {cfg.name}", "", f"Family **{cfg.family}** · cost backend **{hw.backend}** on `{hw.part}` at "
             f"{_fmt(float(hw.clock_ns))} ns · sampler {cfg.sampler.name} · "
             f"{cfg.n_trials if cfg.n_trials is not None else 'unbounded'} design points", ""]
    lines += ["### Objectives", "", *table(("metric", "goal"), [(f"**{o}**", d) for o, d in
                                                                  zip(cfg.objective_names, cfg.directions,
                                                                      strict=True)])]
    if cfg.constraint_labels:
        lines += ["### Constraints", "", *[f"- `{c}`" for c in cfg.constraint_labels], ""]
    searched = [(f"`{k}`", _cell(describe(v))) for k, v in cfg.params.items() if not isinstance(v, Fixed)]
    if searched:
        lines += ["### Searched", "", *table(("parameter", "values"), searched)]
    lines += ["Each trial's note has its design, hardware, accuracy and timings; its files are under "
              "*Artifacts* on the trial's page.", "",
              f"`dse status {cfg.source}` · `dse pareto {cfg.source}` · `dse export {cfg.source} --trial N -o DIR`"]
    return "\n".join(lines).rstrip() + "\n"


def save_trial_note(trial: optuna.trial.Trial, body: str) -> None:
    from dse.driver.optuna_api import save_trial_note as save

    save(trial, body)


# ------------------------------------------------------------------------------------------------ driver


class DashboardWriter:
    """What the driver calls: one instance per study run."""

    def __init__(self, study: optuna.Study, runs_root: Path, objectives: Sequence[str],
                 directions: Sequence[str], family: Any = None) -> None:
        self.study = study
        self.family = family  # its note_sections(result) join every trial's note
        self.runs_root = Path(runs_root)
        self.objectives = list(objectives)
        self.directions = list(directions)
        self._store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = artifact_store(self.runs_root)
        return self._store

    def record(self, trial: optuna.trial.Trial, result: TrialResult, *, worker: dict[str, Any] | None = None,
               duplicate_of: int | None = None) -> None:
        """Upload the trial's artifacts and write its note; call before ``tell``. Never raises."""
        uploads, work = None, None
        try:
            if duplicate_of is None and result.artifacts:
                uploads = upload_artifacts(self.store, trial, result)
            work = next((str(Path(a.path).parent) for a in result.artifacts if a.kind == "hardware_report"), None)
        except Exception as e:
            log.warning("trial %s: artifacts not uploaded: %s: %s", trial.number, type(e).__name__, e)
        self.note(trial, result, uploads=uploads, worker=worker, duplicate_of=duplicate_of, artifact_root=work)

    def note(self, trial: optuna.trial.Trial, result: TrialResult, **kw: Any) -> None:
        try:
            sections = self.family.note_sections(result) if self.family is not None else []
            body = trial_note(trial.number, result, objectives=self.objectives, directions=self.directions,
                              sections=sections, **kw)
            save_trial_note(trial, body)
        except Exception as e:
            log.warning("trial %s: dashboard note not written: %s: %s", trial.number, type(e).__name__, e)

    def describe_study(self, cfg: Any) -> None:
        """Write the study's note (only when it changed). Never raises."""
        try:
            from optuna_dashboard import get_note, save_note

            body = study_note(cfg)
            if get_note(self.study) != body:
                save_note(self.study, body)
        except Exception as e:
            log.warning("study %s: dashboard note not written: %s: %s", self.study.study_name, type(e).__name__, e)

    def failed(self, trial_id: int, number: int, result: TrialResult) -> None:
        """The note of a trial the driver failed itself (worker died, interrupted, timeout, dead driver)."""
        try:
            trial = optuna.trial.Trial(self.study, trial_id)
        except Exception as e:
            log.warning("trial %s: dashboard note not written: %s: %s", number, type(e).__name__, e)
            return
        self.note(trial, result)
