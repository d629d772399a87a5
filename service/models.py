"""The loaded models the service needs, and how they are loaded from the artifact folders.

Nothing here runs at import time: ``load_models`` is called from the app's lifespan (or a
test builds ``Models`` from already-fitted objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.artifact import load_artifact
from model.classify import FieldClassifier
from model.dedup import DuplicateRule
from model.embed import StaticEmbedder
from model.taxonomy import Taxonomy, load_taxonomy
from service.settings import Settings

_SMOKE_TEXT = "Ứng dụng phần mềm quản lý hồ sơ một cửa tại Ủy ban nhân dân phường"


class ModelLoadError(RuntimeError):
    """The artifacts are missing or do not work with this code; the message says what to run."""


@dataclass
class Models:
    """Everything fitted that serving reads: classifier, taxonomy, embedder, duplicate rule."""

    classifier: FieldClassifier
    model_version: str
    taxonomy: Taxonomy
    embedder: StaticEmbedder
    rule: DuplicateRule


def missing_artifacts(settings: Settings) -> list[str]:
    """Artifact files that are not there yet (each is built by `make models`)."""
    needed = [Path(settings.classifier_dir) / "model.joblib",
              Path(settings.classifier_dir) / "model_card.json", Path(settings.dedup_rule)]
    return [str(p) for p in needed if not p.exists()]


def load_models(settings: Settings) -> Models:
    """Load the classifier, its taxonomy, the static embedder and the duplicate rule."""
    missing = missing_artifacts(settings)
    if missing:
        raise ModelLoadError(f"model artifacts missing: {', '.join(missing)}; run `make models` "
                             "(or set SANGKIEN_CLASSIFIER_DIR / SANGKIEN_DEDUP_RULE)")
    classifier, card = load_artifact(settings.classifier_dir)
    taxonomy_path = Path(settings.classifier_dir) / "taxonomy.json"
    taxonomy = load_taxonomy(taxonomy_path if taxonomy_path.exists() else "data/taxonomy.json")
    models = Models(classifier, str(card.get("version", "unknown")), taxonomy,
                    StaticEmbedder().fit(), DuplicateRule.load(settings.dedup_rule))
    check_models(models, str(settings.classifier_dir))
    return models


def check_models(models: Models, source: str = "the classifier") -> None:
    """Fail at start-up, not on the first request, when the artifact does not fit the code.

    One prediction also warms the lazy parts (the classifier's own embedder, the word
    segmenter), so the first real request is not slow.
    """
    codes = set(models.taxonomy.codes)
    if set(map(str, models.classifier.classes_)) != codes:
        raise ModelLoadError(f"{source}: classifier fields {list(models.classifier.classes_)} differ "
                             f"from the taxonomy {sorted(codes)}; retrain: `rm -rf {source} && make models`")
    try:
        models.classifier.predict([_SMOKE_TEXT])
        models.embedder.transform([_SMOKE_TEXT])
    except Exception as exc:  # any failure here means a stale or broken artifact
        raise ModelLoadError(f"{source} does not work with this code ({type(exc).__name__}: {exc}); "
                             f"rebuild it: `rm -rf {source} && make models`") from exc
