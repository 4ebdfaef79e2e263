"""Anomaly figures against the rank formulas they are defined by."""
import pytest
import torch

from vaereg.evaluation import anomaly_metrics, roc_curve

# large, tied scores (negative ELBOs in nats): a sigmoid would make them all 1.0
SCORES = torch.tensor([250.0, 260.0, 260.0, 245.0, 270.0, 255.0, 260.0, 240.0, 270.0, 251.0])
LABELS = torch.tensor([0, 1, 0, 0, 1, 1, 1, 0, 0, 1])


def mann_whitney_auroc(scores, labels):
    anomalies, normals = scores[labels == 1], scores[labels == 0]
    wins = (anomalies[:, None] > normals[None, :]).double().sum()
    ties = (anomalies[:, None] == normals[None, :]).double().sum()
    return ((wins + 0.5 * ties) / (len(anomalies) * len(normals))).item()


def brute_force_fpr_at_95_tpr(scores, labels):
    rates = []
    for threshold in scores.unique():
        flagged = scores >= threshold
        if flagged[labels == 1].double().mean() >= 0.95:
            rates.append(flagged[labels == 0].double().mean().item())
    return min(rates)


def brute_force_average_precision(scores, labels):
    total, previous_recall = 0.0, 0.0
    for threshold in scores.unique().flip(0):
        flagged = scores >= threshold
        recall = flagged[labels == 1].double().mean().item()
        total += (recall - previous_recall) * labels[flagged].double().mean().item()
        previous_recall = recall
    return total


def test_figures_equal_their_rank_formulas_with_ties():
    figures = anomaly_metrics(SCORES, LABELS)
    assert figures["auroc"] == pytest.approx(mann_whitney_auroc(SCORES, LABELS)) == pytest.approx(0.7)  # 17.5 of 25 pairs
    assert figures["auprc"] == pytest.approx(brute_force_average_precision(SCORES, LABELS))
    assert figures["fpr_at_95_tpr"] == pytest.approx(brute_force_fpr_at_95_tpr(SCORES, LABELS))


def test_roc_curve_thresholds_are_scores():
    fpr, tpr, thresholds = roc_curve(SCORES, LABELS)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    for rate_fp, rate_tp, threshold in zip(fpr[1:], tpr[1:], thresholds[1:]):
        flagged = SCORES >= threshold
        assert rate_tp.item() == pytest.approx(flagged[LABELS == 1].double().mean().item())
        assert rate_fp.item() == pytest.approx(flagged[LABELS == 0].double().mean().item())


def test_rejects_labels_without_both_classes():
    with pytest.raises(ValueError, match="both"):
        anomaly_metrics(SCORES, torch.zeros(10, dtype=torch.long))
