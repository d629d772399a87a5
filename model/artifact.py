"""Save and load the trained classifier artifact (a versioned folder), shared by CLI and service."""

from __future__ import annotations

import json
from pathlib import Path

import joblib

from model.classify import FieldClassifier


def save_artifact(clf: FieldClassifier, card: dict, taxonomy: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(clf, out_dir / "model.joblib", compress=3)
    (out_dir / "taxonomy.json").write_text(json.dumps(taxonomy, ensure_ascii=False, indent=2))
    (out_dir / "model_card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2))


def load_artifact(artifact_dir: str | Path) -> tuple[FieldClassifier, dict]:
    """The fitted classifier and its model card; a clear error when it was never trained."""
    path = Path(artifact_dir) / "model.joblib"
    if not path.exists():
        raise FileNotFoundError(f"no trained classifier at {path}: run `sangkien train` first")
    card = json.loads((Path(artifact_dir) / "model_card.json").read_text("utf-8"))
    return joblib.load(path), card
