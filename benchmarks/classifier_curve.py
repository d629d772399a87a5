"""Learning curve of the default field classifier: how its figures grow with labelled data.

    .venv/bin/python benchmarks/classifier_curve.py [--fractions 0.25,0.5,0.75,1.0] [--repeats 2]

For each fraction, the default ``FieldClassifier`` is fitted (exactly as ``sangkien train``
fits it) on that share of the train + dev ideas, drawn at random by idea so resubmissions stay
with their original, and scored on the whole, untouched test split; its own out-of-fold figures
on the subset are printed too. Nothing is tuned here: it says how much more labelled data the
targets would take, by extrapolating the gain of the last doubling.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from model.classify import FieldClassifier
from model.normalize import normalize
from training.dataset import load_all, records_by_split
from training.evaluate import evaluate_classifier, oof_figures
from training.train import group_list, load_config


def subset_by_idea(groups: list[str], fraction: float, seed: int) -> list[int]:
    """Indices of the records whose idea falls in a random ``fraction`` of the ideas."""
    ideas = sorted(set(groups))
    rng = np.random.default_rng(seed)
    keep = set(rng.choice(ideas, size=max(1, round(fraction * len(ideas))), replace=False).tolist())
    return [i for i, g in enumerate(groups) if g in keep]


def one_point(texts: list[str], labels: list[list[str]], groups: list[str], test: list,
              classes: list[str], fraction: float, seed: int) -> dict:
    rows = subset_by_idea(groups, fraction, seed)
    t = time.perf_counter()
    clf = FieldClassifier(**load_config(None, {})).fit(
        [texts[i] for i in rows], [labels[i] for i in rows], classes=classes,
        groups=[groups[i] for i in rows])
    fit_s = time.perf_counter() - t
    test_figures = evaluate_classifier(clf, test)
    oof = oof_figures(clf)
    return {"fraction": fraction, "seed": seed, "train_texts": len(rows), "fit_s": round(fit_s, 1),
            "test_macro_f1": test_figures["macro_f1"], "test_coverage": test_figures["coverage"],
            "test_accepted_precision": test_figures["accepted_tag_precision"],
            "oof_macro_f1": oof["macro_f1"], "oof_coverage": oof["coverage"],
            "oof_accepted_precision": oof["accepted_tag_precision"]}


def summarize(points: list[dict], targets: dict[str, float]) -> dict:
    """Mean of each figure per fraction, the gain over the last doubling of the data (half the
    ideas to all of them: the curve flattens, so earlier doublings would flatter it), and the
    data multiple that gain would need to reach each target if it held."""
    summary = {}
    for key, target in targets.items():
        by_fraction = {f: round(statistics.mean(p[key] for p in points if p["fraction"] == f), 4)
                       for f in sorted({p["fraction"] for p in points})}
        row: dict = {"by_fraction": by_fraction, "target": target}
        if 0.5 in by_fraction and 1.0 in by_fraction:
            gain = by_fraction[1.0] - by_fraction[0.5]
            row["last_doubling_gain"] = round(gain, 4)
            if by_fraction[1.0] < target:
                row["data_multiple_for_target"] = (
                    round(2 ** ((target - by_fraction[1.0]) / gain), 1) if gain > 0 else None)
        summary[key] = row
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", default="0.25,0.5,0.75,1.0")
    parser.add_argument("--repeats", type=int, default=2, help="random subsets per fraction below 1")
    args = parser.parse_args()
    taxonomy, _ = load_all()
    splits = records_by_split()
    train, test = splits["train"] + splits["dev"], splits["test"]
    texts, labels = [normalize(r.text) for r in train], [list(r.fields) for r in train]
    groups = group_list(train)
    points = []
    for fraction in (float(f) for f in args.fractions.split(",")):
        for seed in range(args.repeats if fraction < 1 else 1):
            points.append(one_point(texts, labels, groups, test, list(taxonomy.codes), fraction, seed))
            print(json.dumps(points[-1]), flush=True)
    targets = {"test_macro_f1": 0.90, "oof_macro_f1": 0.90, "test_coverage": 0.80, "oof_coverage": 0.80}
    print(json.dumps({"summary": summarize(points, targets)}, indent=2))


if __name__ == "__main__":
    main()
