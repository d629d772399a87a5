"""Shared fixtures: heavy models are built once per test session, from the shipped data."""

import pytest

from model.embed import StaticEmbedder
from model.normalize import normalize
from training.dataset import load_all, records_by_split


@pytest.fixture(scope="session")
def taxonomy():
    return load_all()[0]


@pytest.fixture(scope="session")
def splits():
    return records_by_split()


@pytest.fixture(scope="session")
def static_embedder():
    return StaticEmbedder().fit()


@pytest.fixture(scope="session")
def trained_classifier(splits, taxonomy):
    """The default classifier recipe, as `sangkien train` fits it."""
    from model.classify import FieldClassifier
    from training.train import group_list

    train = splits["train"] + splits["dev"]
    return FieldClassifier().fit(
        [normalize(r.text) for r in train], [list(r.fields) for r in train],
        classes=list(taxonomy.codes), groups=group_list(train),
    )


@pytest.fixture(scope="session")
def dedup_rule(static_embedder):
    """The duplicate rule fitted on the train + dev pairs, as `sangkien train-dedup` does."""
    from training.dataset import load_pairs
    from training.dedup import evidence_index, fit_rule, labelled_docs

    index = evidence_index(labelled_docs(), static_embedder)
    rule, metrics = fit_rule(index, load_pairs())
    rule.test_metrics = metrics["test"]
    return rule
