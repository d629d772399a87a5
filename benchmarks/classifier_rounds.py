"""What the newer data rounds bought: the default classifier with and without them.

    .venv/bin/python benchmarks/classifier_rounds.py [--new w5,w6,w7]

Fits the default ``FieldClassifier`` (exactly as ``sangkien train`` fits it) twice: on the
train + dev records of the earlier rounds only, and on all train + dev records. Both are scored
on the test records of the earlier rounds (a fixed yardstick, which the newer rounds never
changed) and on the test records the newer rounds added (writers and workplaces the earlier
model never saw), so the gain from more data is read on the same texts. Rounds are told apart
by their file prefix (``w5-…`` ids come from ``records/w5*.jsonl``, see data/README.md).
"""

from __future__ import annotations

import argparse
import json

from model.classify import FieldClassifier
from model.normalize import normalize
from model.records import Record
from training.dataset import load_all, records_by_split
from training.evaluate import evaluate_classifier, oof_figures
from training.train import group_list, load_config

KEYS = ("texts", "macro_f1", "primary_accuracy", "coverage", "accepted_tag_precision")


def fit_default(records: list[Record], classes: list[str]) -> FieldClassifier:
    return FieldClassifier(**load_config(None, {})).fit(
        [normalize(r.text) for r in records], [list(r.fields) for r in records],
        classes=classes, groups=group_list(records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", default="w5,w6,w7", help="id prefixes of the newer rounds")
    args = parser.parse_args()
    new = tuple(args.new.split(","))
    taxonomy, _ = load_all()
    splits = records_by_split()
    train, test = splits["train"] + splits["dev"], splits["test"]
    tests = {"earlier_rounds_test": [r for r in test if not r.id.startswith(new)],
             "newer_rounds_test": [r for r in test if r.id.startswith(new)], "whole_test": test}
    for name, records in (("trained_on_earlier_rounds", [r for r in train if not r.id.startswith(new)]),
                          ("trained_on_all_rounds", train)):
        clf = fit_default(records, list(taxonomy.codes))
        oof = oof_figures(clf)
        row = {"train_dev_texts": len(records),
               "oof": {k: oof[k] for k in ("macro_f1", "coverage", "accepted_tag_precision")}}
        for test_name, test_records in tests.items():
            figures = evaluate_classifier(clf, test_records)
            row[test_name] = {k: figures[k] for k in KEYS}
        print(name, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
