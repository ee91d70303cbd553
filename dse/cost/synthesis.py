"""Cost backends that run the real HLS tool through hls4ml's own build and read its reports.

- ``vitis``: hls4ml's ``Vitis`` backend. In hls4ml 1.3.0 its ``build()`` runs
  ``vitis-run --tcl build_prj.tcl --mode hls`` in the project directory (after writing the options to
  ``build_opt.tcl``) and raises when the command exits non-zero. ``vitis-run`` comes with the unified
  Vitis installation; the older ``vitis_hls`` executable is not called.
- ``vivado``: hls4ml's ``Vivado`` backend, whose ``build()`` runs
  ``vivado_hls -f build_prj.tcl "reset=... csim=... synth=... vsynth=..."`` through ``os.system`` in the
  project directory and ignores the exit status, so a failed run only shows up as missing reports.

With ``vsynth=True`` both build scripts additionally run ``vivado -mode batch -source vivado_synth.tcl``,
which writes ``vivado_synth.rpt`` into the project directory.

The hls4ml model must have been converted for the matching hls4ml backend (``backend='Vitis'`` or
``backend='Vivado'``): ``build()`` is the model's backend's, so a mismatch would run the other tool.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

from dse.cost.base import CostBackend, HardwareReport, register_backend
from dse.cost.parts import full_part_name, get_part
from dse.cost.reports import (
    ReportPaths,
    SynthesisSummary,
    find_reports,
    parse_vivado_synth_rpt,
    read_csynth,
    summary_to_hardware_report,
)
from dse.errors import ConfigError, ToolNotFoundError

VIVADO = "vivado"  # logic synthesis, needed only for vsynth


class SynthesisError(RuntimeError):
    """The HLS tool ran but did not produce a usable synthesis report."""


class _HLSToolBackend(CostBackend):
    """Shared flow: check model backend and tools, configure, write, build, read the reports."""

    name: ClassVar[str]
    costs = "hls4ml"  # a converted hls4ml ModelGraph
    executable: ClassVar[str]  # what hls4ml's build() calls
    hls4ml_backend: ClassVar[str]  # hls_model.config.backend.name this backend needs
    install_hint: ClassVar[str]
    measured = True

    @classmethod
    def note_sections(cls, hardware: dict[str, Any]) -> list[str]:
        from dse.cost.hls_notes import hls4ml_note_sections

        return hls4ml_note_sections(hardware)

    def __init__(self, vsynth: bool = False) -> None:
        """``vsynth``: also run Vivado logic synthesis; its numbers go to ``report.details['vsynth']``."""
        self.vsynth = vsynth

    # -- tool discovery ------------------------------------------------------------------------

    def available(self) -> bool:
        """Whether the HLS executable (and ``vivado`` when ``vsynth``) is on PATH."""
        return all(shutil.which(exe) is not None for exe in self._executables())

    def _executables(self) -> list[str]:
        return [self.executable, VIVADO] if self.vsynth else [self.executable]

    def _require_tools(self) -> None:
        for exe in self._executables():
            if shutil.which(exe) is None:
                what = "Vivado logic synthesis (vsynth=True)" if exe == VIVADO else f"the {self.name!r} cost backend"
                raise ToolNotFoundError(
                    f"{exe!r} not found on PATH: {what} runs hls4ml's {self.hls4ml_backend} build, which calls "
                    f"{exe!r}. {self.install_hint} Or use the 'estimate' cost backend, which needs no tools."
                )

    # -- model checks and configuration ----------------------------------------------------------

    def _check_model(self, hls_model: Any) -> None:
        backend = getattr(getattr(getattr(hls_model, "config", None), "backend", None), "name", None)
        if backend is None:
            raise ConfigError("hls_model", "not an hls4ml ModelGraph (no config.backend)", field="backend")
        if backend.lower() != self.hls4ml_backend.lower():
            raise ConfigError(
                "hls_model",
                f"was converted with hls4ml backend {backend!r}, but the {self.name!r} cost backend builds with "
                f"{self.hls4ml_backend!r}; convert with backend={self.hls4ml_backend!r}",
                field="backend",
            )

    @staticmethod
    def _configure(hls_model: Any, part: str, clock_ns: float, output_dir: str | None) -> Path:
        """Point the model at ``part``/``clock_ns``/``output_dir``; hls4ml's writer puts Part and
        ClockPeriod into ``project.tcl``, which the build script sources."""
        cfg = hls_model.config.config
        cfg["Part"] = full_part_name(part)
        cfg["ClockPeriod"] = clock_ns
        if output_dir is not None:
            cfg["OutputDir"] = str(output_dir)
        return Path(hls_model.config.get_output_dir())

    @staticmethod
    def _remove_stale_reports(project_dir: Path) -> None:
        """Delete reports of an earlier build so that a failed run cannot be read as this one's."""
        old = find_reports(project_dir)
        for p in (old.csynth_rpt, old.csynth_xml, old.vivado_synth_rpt):
            if p is not None:
                p.unlink()

    # -- the build ------------------------------------------------------------------------------

    def _build_kwargs(self) -> dict[str, Any]:
        return {"csim": False, "synth": True, "vsynth": self.vsynth}

    def _log_hint(self, project_dir: Path) -> str:
        return f"see the tool's log in {project_dir}"

    def _build(self, hls_model: Any, project_dir: Path) -> None:
        try:
            hls_model.build(**self._build_kwargs())
        except Exception as e:  # hls4ml raises bare Exception for a failed build
            raise SynthesisError(
                f"{self.executable} build failed in {project_dir}: {e}; {self._log_hint(project_dir)}"
            ) from e

    def _read(self, project_dir: Path, part: str, clock_ns: float) -> tuple[ReportPaths, SynthesisSummary]:
        paths = find_reports(project_dir)
        if not paths.has_csynth:
            raise SynthesisError(
                f"{self.executable} produced no {paths.top}_csynth.rpt/.xml under {project_dir} "
                f"(C synthesis failed?); {self._log_hint(project_dir)}"
            )
        summary = read_csynth(paths)
        # the report must be of the design we asked for (guards against reading the wrong project)
        if not summary.part.lower().startswith(get_part(part).name):
            raise SynthesisError(f"{summary.source}: report is for part {summary.part!r}, expected {part!r}")
        if abs(summary.clock_target_ns - clock_ns) > 0.006:  # the report prints 2 decimals
            raise SynthesisError(
                f"{summary.source}: report's target clock is {summary.clock_target_ns} ns, expected {clock_ns} ns"
            )
        return paths, summary

    def cost(self, hls_model: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        """Synthesise ``hls_model`` for ``part`` at ``clock_ns`` and return the tool's numbers.

        Sets the model's ``Part``, ``ClockPeriod`` (and ``OutputDir`` if given), rewrites the project
        and runs ``hls_model.build(csim=False, synth=True, vsynth=...)``. hls4ml's Vivado build changes
        the process's working directory while it runs: do not run two builds in one process at once.
        """
        self._check_model(hls_model)
        self._require_tools()
        project_dir = self._configure(hls_model, part, clock_ns, output_dir)
        if project_dir.is_dir():
            self._remove_stale_reports(project_dir)
        hls_model.write()
        self._build(hls_model, project_dir)
        paths, summary = self._read(project_dir, part, clock_ns)
        vsynth = None
        if self.vsynth:
            if paths.vivado_synth_rpt is None:
                raise SynthesisError(
                    f"vivado produced no vivado_synth.rpt in {project_dir}; {self._log_hint(project_dir)}"
                )
            vsynth = parse_vivado_synth_rpt(paths.vivado_synth_rpt)
        report = summary_to_hardware_report(summary, self.name, part, clock_ns, vsynth=vsynth)
        report.details["project_dir"] = str(project_dir)
        return report


@register_backend
class VitisBackend(_HLSToolBackend):
    """Vitis HLS through hls4ml's ``Vitis`` backend (``vitis-run``)."""

    name = "vitis"
    source = "Vitis HLS report"
    executable = "vitis-run"
    hls4ml_backend = "Vitis"
    install_hint = "Source the Vitis settings64.sh (Vitis with the unified 'vitis-run' command)."

    def __init__(self, vsynth: bool = False, log_to_stdout: bool = False) -> None:
        """``log_to_stdout=False`` keeps the tool's output in ``build_stdout.log``/``build_stderr.log``."""
        super().__init__(vsynth=vsynth)
        self.log_to_stdout = log_to_stdout

    def _build_kwargs(self) -> dict[str, Any]:
        return {**super()._build_kwargs(), "log_to_stdout": self.log_to_stdout}

    def _log_hint(self, project_dir: Path) -> str:
        if self.log_to_stdout:
            return f"see the tool's output above and vitis_hls.log in {project_dir}"
        return f"see {project_dir / 'build_stdout.log'} and {project_dir / 'build_stderr.log'}"


@register_backend
class VivadoBackend(_HLSToolBackend):
    """Vivado HLS (2020.1 and earlier) through hls4ml's ``Vivado`` backend (``vivado_hls``)."""

    name = "vivado"
    source = "Vivado HLS report"
    executable = "vivado_hls"
    hls4ml_backend = "Vivado"
    install_hint = "Source the Vivado (2020.1 or earlier) settings64.sh."

    def _log_hint(self, project_dir: Path) -> str:
        return f"see {project_dir / 'vivado_hls.log'}"
