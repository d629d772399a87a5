"""Train the field classifier and save a versioned artifact with its model card.

The artifact folder holds ``model.joblib`` (the fitted ``FieldClassifier``), ``taxonomy.json``
and ``model_card.json`` (data hash, parameters, thresholds, dev/test metrics, feedback count).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import tomllib
from pathlib import Path

from model.artifact import save_artifact
from model.classify import FieldClassifier
from model.errors import DataError
from model.normalize import normalize
from model.records import Record, read_jsonl
from training.dataset import DATA, idea_groups, load_all, records_by_split
from training.evaluate import evaluate_classifier, oof_figures

DEFAULT_PARAMS = {"C": 32.0, "word_ngrams": [1, 2], "char_ngrams": [2, 5], "embedding_weight": 0.25}


def load_config(path: str | None, overrides: dict) -> dict:
    """Parameters from a TOML file (``[classifier]`` table), then CLI flags on top."""
    params = dict(DEFAULT_PARAMS)
    if path:
        try:
            params.update(tomllib.loads(Path(path).read_text("utf-8")).get("classifier", {}))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise DataError(f"cannot read config {path}: {exc}") from exc
    params.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(params) - set(FieldClassifier().get_params())
    if unknown:
        raise DataError(f"unknown classifier parameters {sorted(unknown)} in config/flags")
    for key in ("word_ngrams", "char_ngrams"):
        params[key] = tuple(params[key])
    return params


def load_feedback(path: str | None, codes: tuple[str, ...]) -> list[Record]:
    """Reviewer corrections exported by the service (JSONL: id, title, description, fields)."""
    if not path:
        return []
    out = []
    for where, raw in read_jsonl(Path(path)):
        fields = tuple(raw.get("fields") or ())
        if not fields or any(f not in codes for f in fields):
            raise DataError(f"{where}: feedback needs 'fields' from {codes}, got {fields}")
        out.append(Record(id=str(raw["id"]), title=str(raw.get("title", "")),
                          description=str(raw.get("description", "")), fields=fields))
    return out


def group_list(records: list[Record]) -> list[str]:
    """One idea id per record, so a resubmission never sits in another fold than its original."""
    groups = idea_groups(records)
    return [groups[r.id] for r in records]


def data_hash(records: list[Record]) -> str:
    h = hashlib.sha256()
    for r in sorted(records, key=lambda r: r.id):
        h.update(json.dumps([r.id, r.text, list(r.fields)], ensure_ascii=False).encode())
    return h.hexdigest()


def train(out_dir: Path, params: dict, feedback_path: str | None = None,
          data_dir: Path = DATA) -> dict:
    """Fit on train + dev (+ feedback), thresholds from out-of-fold predictions, evaluate on
    the untouched test split, save; return the model card."""
    t0 = time.perf_counter()
    taxonomy, _ = load_all(data_dir)
    splits = records_by_split(data_dir)
    feedback = load_feedback(feedback_path, taxonomy.codes)
    train_set = splits["train"] + splits["dev"] + feedback
    clf = FieldClassifier(**params).fit(
        [normalize(r.text) for r in train_set], [list(r.fields) for r in train_set],
        classes=list(taxonomy.codes), groups=group_list(train_set),
    )
    fit_s = time.perf_counter() - t0
    metrics = {"test": evaluate_classifier(clf, splits["test"]),
               "cross_validated_train_dev": oof_figures(clf)}
    digest = data_hash(train_set)
    card = {
        "version": f"{dt.date.today().isoformat()}-{digest[:8]}",
        "data_sha256": digest, "taxonomy_version": taxonomy.version,
        "train_records": len(splits["train"]) + len(splits["dev"]), "feedback_records": len(feedback),
        "test_records": len(splits["test"]),
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "thresholds": {str(c): round(float(t), 3) for c, t in zip(clf.classes_, clf.thresholds_)},
        "accept_level": round(clf.accept_level_, 4),
        "fit_seconds": round(fit_s, 1), "metrics": metrics,
    }
    save_artifact(clf, card, taxonomy.to_dict(), out_dir)
    return card
