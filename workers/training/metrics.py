"""Held-out metrics in numpy (no scikit-learn dependency), matching scikit-learn's definitions:
binary F1 is the F1 of the second (positive) class, multiclass F1 is macro-averaged, multiclass
ROC AUC is macro one-vs-rest, log loss clips probabilities at 1e-15."""

from __future__ import annotations

import numpy as np


def classification(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """y: class codes (n,); proba: (n, n_classes) rows summing to 1."""
    k = proba.shape[1]
    predicted = proba.argmax(axis=1)
    out = {"accuracy": float(np.mean(predicted == y))}
    f1s = []
    for c in range(k) if k > 2 else (1,):
        tp = np.sum((predicted == c) & (y == c))
        wrong = np.sum((predicted == c) != (y == c))  # false positives + false negatives
        f1s.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    out["f1"] = float(np.mean(f1s))
    aucs = [_auc(y == c, proba[:, c]) for c in (range(k) if k > 2 else (1,))]
    aucs = [auc for auc in aucs if auc is not None]
    if aucs:  # undefined when the held-out split has a single class
        out["roc_auc"] = float(np.mean(aucs))
    picked = proba[np.arange(len(y)), y]
    out["log_loss"] = float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))
    return out


def regression(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    error = predicted - y
    ss_res = float(np.sum(error**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    # A constant held-out target gives scikit-learn's convention: 1 if exact, else 0.
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0)
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(r2),
    }


def _auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # Mann-Whitney U with average ranks for ties: the probability that a random positive
    # scores above a random negative. One sort; this runs on the validation split every epoch.
    order = np.argsort(score)
    ordered = score[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(score)]
    ranks = np.empty(len(score))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)  # 1-based average rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
