"""Reading text shared by the OOD experiments (``ood``, ``text-ood``): where the single Gaussian loses to a baseline."""

from __future__ import annotations

from infogauss.ood import SCORES

#: Scores from the one fitted Gaussian, and the baselines that assume no Gaussian (:mod:`infogauss.ood`).
GAUSSIAN_SCORES = ("loglik", "typicality")
BASELINES = tuple(s for s in SCORES if s not in GAUSSIAN_SCORES)


def gaussian_losses(cases: list[tuple[str, dict]], task: str = "") -> str:
    """One sentence: in how many ``cases`` (``(name, {score: AUROC})``) the best single-Gaussian score has a lower
    AUROC than the best baseline, naming each such case with both numbers. ``task`` prefixes the sentence."""
    lost = []
    for name, auc in cases:
        g = max(GAUSSIAN_SCORES, key=lambda s: auc[s])
        b = max((s for s in BASELINES if auc.get(s) is not None), key=lambda s: auc[s])
        if auc[b] > auc[g]:
            lost.append(f"{name} ({g} {auc[g]:.3f} < {b} {auc[b]:.3f})")
    head = f"{task}the best single-Gaussian score loses to a baseline in {len(lost)} of {len(cases)} cases"
    return head + (": " + "; ".join(lost) if lost else "") + "."
