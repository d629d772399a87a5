"""Choose the classifier's default parameters on train + dev only (out-of-fold), never on test.

    .venv/bin/python benchmarks/classifier_select.py

Fits ``FieldClassifier`` on train + dev for a few settings and prints the out-of-fold figures
that ``fit`` keeps (macro-F1, ECE, acceptance), so the default in ``training/train.py`` is the
best of them by out-of-fold macro-F1, with the test split left untouched.
"""

from __future__ import annotations

import json
import time

from model.classify import FieldClassifier
from model.normalize import normalize
from training.dataset import load_all, records_by_split
from training.evaluate import oof_figures
from training.train import group_list, load_config

GRID = [
    {"embedding_weight": 0.5, "C": 32.0},
    {"embedding_weight": 0.25, "C": 32.0},
    {"embedding_weight": 1.0, "C": 32.0},
    {"embedding_weight": 0.5, "C": 16.0},
    {"embedding_weight": 0.0, "C": 32.0},
    {"fold_augment": False},
]


def main() -> None:
    taxonomy, _ = load_all()
    splits = records_by_split()
    train = splits["train"] + splits["dev"]
    texts, labels = [normalize(r.text) for r in train], [list(r.fields) for r in train]
    groups = group_list(train)
    for change in GRID:
        t = time.perf_counter()
        clf = FieldClassifier(**load_config(None, change)).fit(
            texts, labels, classes=list(taxonomy.codes), groups=groups)
        print(json.dumps({**change, **oof_figures(clf), "fit_s": round(time.perf_counter() - t, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
