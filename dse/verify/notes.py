"""What optuna-dashboard shows of verifications: a section in the verified trial's note (the real numbers beside
the estimate they replace, and where each comes from), and the study's calibration in the study's note and
user attributes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from dse.markdown import table
from dse.verify.calibration import Calibration

log = logging.getLogger(__name__)

TRIAL_HEADING = "### Verified hardware"
STUDY_HEADING = "### Verification"
#: The study user attribute that holds the calibration (``Calibration.to_dict()``).
CALIBRATION_ATTR = "verify_calibration"


def trial_section(real: Mapping[str, Any], estimate: Mapping[str, Any], metrics: Sequence[str]) -> list[str]:
    """The real numbers of ``metrics`` beside the estimate's, with the ratio and each report's source."""
    from dse.cost.registry import hardware_source
    from dse.verify.view import report_metrics

    r, e = report_metrics(real), report_metrics(estimate)
    rows = [(m, _fmt(e.get(m)), _fmt(r.get(m)), _fmt(r[m] / e[m]) if e.get(m) else "–") for m in metrics if m in r]
    return [TRIAL_HEADING, "", f"Real numbers from **{hardware_source(real)}**; the estimate they replace in "
            f"`dse pareto`/`dse status` is from {hardware_source(estimate)} (kept, and still Optuna's values).", "",
            *table(("metric", "estimate", "real", "real / estimate"), rows)]


def study_lines(backend: str, top_k: int | None, calibration: Calibration | None, metrics: Sequence[str]) -> list[str]:
    lines = [STUDY_HEADING, "", f"The front's best {top_k or 'requested'} designs are re-costed with **{backend}**; "
             "`dse pareto` shows where each row's hardware numbers come from."]
    if calibration is not None:
        lines += ["", f"Estimates {calibration.line(metrics)}."]
    return lines


def replace_section(body: str, heading: str, section: Sequence[str]) -> str:
    """``body`` with its ``heading`` section (up to the next heading of that level or the end) replaced by
    ``section``, or ``section`` appended."""
    lines = body.rstrip("\n").split("\n") if body else []
    level = heading.split(" ", 1)[0] + " "
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(level)), len(lines))
        lines = lines[:start] + list(section) + lines[end:]
    else:
        lines = [*lines, "", *section] if lines else list(section)
    return "\n".join(lines).rstrip() + "\n"


def update_trial_note(study: Any, trial_id: int, section: Sequence[str]) -> None:
    """Put ``section`` into the trial's note. Never raises (a note is not worth failing a verification)."""
    try:
        import optuna
        from optuna_dashboard import get_note, save_note

        trial = optuna.trial.Trial(study, trial_id)
        save_note(trial, replace_section(get_note(trial), TRIAL_HEADING, section))
    except Exception as e:
        log.warning("trial note not updated: %s: %s", type(e).__name__, e)


def update_study_note(study: Any, lines: Sequence[str], calibration: Calibration | None) -> None:
    try:
        from optuna_dashboard import get_note, save_note

        study.set_user_attr(CALIBRATION_ATTR, None if calibration is None else calibration.to_dict())
        save_note(study, replace_section(get_note(study), STUDY_HEADING, lines))
    except Exception as e:
        log.warning("study note not updated: %s: %s", type(e).__name__, e)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.4g}"
    return f"{int(v)}" if isinstance(v, float) else str(v)
