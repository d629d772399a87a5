"""Service fixtures: the session's fitted models (tests/conftest.py), a fresh SQLite file per
test, and real records, copies and hard negatives from data/. Nothing reads artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.records import Record
from service.app import create_app
from service.models import Models
from training.dataset import load_all, load_copies, load_pairs

from api_support import make_settings


@pytest.fixture(scope="session")
def models(trained_classifier, taxonomy, static_embedder, dedup_rule) -> Models:
    return Models(trained_classifier, "test", taxonomy, static_embedder, dedup_rule)


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sangkien.db"


@pytest.fixture()
def client(models, db_path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(db_path), models=models)) as c:
        yield c


@pytest.fixture()
def app_factory(models, db_path):
    """Build a client on this test's database with other settings (limits, keys)."""
    def make(**overrides) -> TestClient:
        return TestClient(create_app(make_settings(db_path, **overrides), models=models))
    return make


@pytest.fixture(scope="session")
def records() -> dict[str, Record]:
    return {r.id: r for r in load_all()[1]}


@pytest.fixture(scope="session")
def copies() -> dict[str, Record]:
    return {c.id: c for c in load_copies()}


def _copy_of_kind(copies: dict[str, Record], records: dict[str, Record], kind: str) -> tuple[Record, Record]:
    pairs = [p for p in load_pairs() if p["label"] == 1 and p["kind"] == kind and p["split"] == "test"]
    p = next(p for p in pairs if p["b"] in copies and records[p["a"]].description)
    return records[p["a"]], copies[p["b"]]


@pytest.fixture(scope="session")
def no_diacritics_copy(copies, records) -> tuple[Record, Record]:
    """(original, the same initiative typed without tone marks)."""
    return _copy_of_kind(copies, records, "no_diacritics")


@pytest.fixture(scope="session")
def reordered_copy(copies, records) -> tuple[Record, Record]:
    """(original, the same sentences in another order)."""
    return _copy_of_kind(copies, records, "reorder")


@pytest.fixture(scope="session")
def hard_negative(records) -> tuple[Record, Record]:
    """Two different ideas the writers made look alike (a labelled near miss)."""
    p = next(p for p in load_pairs() if p["label"] == 0 and p["kind"] == "near_miss" and p["split"] == "test")
    return records[p["a"]], records[p["b"]]
