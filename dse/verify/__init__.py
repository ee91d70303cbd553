"""Verifying a study's front: re-costing its best designs with a real backend, beside their estimates.

- :mod:`dse.verify.task` -- one verification: the family rebuilds the trial's lowered design, the backend costs it;
- :mod:`dse.verify.jobs` -- verifications as Ray tasks, recorded before and after they run (:mod:`storage.verifications`);
- :mod:`dse.verify.view` -- the numbers a study shows (real, calibrated or estimated) and its front with them;
- :mod:`dse.verify.calibration` -- the study's ratio model real/estimate per metric;
- :mod:`dse.verify.notes` -- what optuna-dashboard shows of them.
"""
