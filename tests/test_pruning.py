"""The median-stopping rule for trainings, and which earlier curves it compares against."""

from __future__ import annotations

import json
import math

import pytest

from dse.trial.pruning import MedianRule, TrainingPruned, earlier_curves


def test_median_rule_prunes_only_clearly_worse_trainings_after_warmup():
    curves = [[1.0, 0.5, 0.4], [1.0, 0.6, 0.5], [1.0, 0.7, 0.6]]
    rule = MedianRule(curves, warmup_epochs=2, min_curves=3, margin=0.01)
    rule.check(0, 10.0)  # inside the warm-up: never pruned
    rule.check(1, 0.6 * 1.009)  # within the 1 % margin of the median 0.6
    with pytest.raises(TrainingPruned, match="median 0.6000"):
        rule.check(1, 0.6 * 1.02)
    rule.check(2, math.nan)  # non-finite: the recipe's own guard reports it, not the pruner
    # an earlier curve that stopped sooner counts with its best value
    MedianRule([[0.9, 0.3]] * 3, warmup_epochs=1, min_curves=3).check(5, 0.3)
    with pytest.raises(TrainingPruned):
        MedianRule([[0.9, 0.3]] * 3, warmup_epochs=1, min_curves=3).check(5, 0.31)


def test_too_few_curves_never_prune():
    MedianRule([[0.1] * 50] * 3, warmup_epochs=1, min_curves=4).check(20, 5.0)


def _entry(root, key, data_fp, quant, curve):
    (root / key).mkdir(parents=True)
    (root / key / "train.json").write_text(json.dumps(
        {"data_fingerprint": data_fp, "model": {"quant": quant}, "history": {"val_nll": curve}}))


def test_earlier_curves_match_data_and_quantization(tmp_path):
    qat16 = {"bits": 16, "integer": 5, "activations": "real"}
    _entry(tmp_path, "a", "d1", None, [0.5])
    _entry(tmp_path, "b", "d1", qat16, [0.6])
    _entry(tmp_path, "c", "d2", None, [0.7])
    _entry(tmp_path, "d", "d1", {**qat16, "bits": 12}, [0.8])
    def same(data_fp, quant):
        return {"data_fingerprint": data_fp, "model.quant": quant}

    assert earlier_curves(tmp_path, "val_nll", same("d1", None)) == [[0.5]]
    assert earlier_curves(tmp_path, "val_nll", same("d1", qat16)) == [[0.6]]
    assert earlier_curves(tmp_path, "val_nll", same("d3", None)) == []
    assert earlier_curves(tmp_path, "val_loss", same("d1", None)) == []  # another signal: not recorded
