"""The record a trial produces: :class:`TrialResult` and its :class:`Artifact` list (defined with the storage
that persists them, :mod:`storage.trial_result`)."""

from storage.trial_result import Artifact, Status, TrialResult

__all__ = ["Artifact", "Status", "TrialResult"]
