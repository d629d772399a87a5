import dataclasses

import numpy as np
import pytest

from model.artifact import load_artifact, save_artifact
from model.classify import FieldClassifier, only_function_words, surface_form
from model.errors import NotFittedError
from model.normalize import fold_diacritics, normalize
from training.evaluate import evaluate_classifier


def test_unfitted_classifier_raises():
    with pytest.raises(NotFittedError, match="fit"):
        FieldClassifier().predict(["Cải tiến quy trình"])


def test_fit_learns_the_taxonomy_and_thresholds(trained_classifier, taxonomy):
    clf = trained_classifier
    assert list(clf.classes_) == list(taxonomy.codes)
    assert clf.thresholds_.shape == (len(taxonomy.codes),)
    assert np.all((clf.thresholds_ > 0) & (clf.thresholds_ < 1))
    assert 0.5 <= clf.accept_level_ <= 1.0


def test_set_confidence_is_learned_and_the_acceptance_level_holds_out_of_fold(trained_classifier):
    clf = trained_classifier
    assert clf.set_model_ is not None
    P, Y = clf.oof_proba_, clf.oof_labels_.astype(bool)
    labels = clf._label_matrix(P)
    accepted = clf.oof_confidence_ >= clf.accept_level_
    assert 0 < accepted.mean() < 1
    precision = (labels[accepted] & Y[accepted]).sum() / labels[accepted].sum()
    assert precision >= clf.min_precision
    # the learned confidence ranks right sets above wrong ones
    exact = (labels == Y).all(axis=1)
    assert clf.oof_confidence_[exact].mean() > clf.oof_confidence_[~exact].mean() + 0.1


def test_set_confidence_falls_back_to_the_weakest_decision_without_wrong_sets():
    clf = FieldClassifier()
    clf.thresholds_ = np.array([0.5, 0.5])
    P = np.array([[0.9, 0.2], [0.6, 0.7]])
    labels = clf._label_matrix(P)
    exact = np.array([True, True])  # every set right: nothing to learn from
    clf.set_model_ = clf._fit_set_model(clf._set_features(P, labels, np.array([10.0, 12.0])), exact)
    assert clf.set_model_ is None
    assert np.allclose(clf._set_confidence(P, labels, np.array([10.0, 12.0])), [0.8, 0.6])


def test_prediction_shape_and_consistency(trained_classifier, splits):
    texts = [normalize(r.text) for r in splits["test"][:20]]
    for pred in trained_classifier.predict(texts):
        assert set(pred.probabilities) == set(trained_classifier.classes_)
        assert all(0.0 <= p <= 1.0 for p in pred.probabilities.values())
        assert pred.labels and pred.primary == pred.labels[0]
        assert pred.probabilities[pred.primary] == max(pred.probabilities.values())
        assert pred.needs_review == (pred.review_reason is not None)
        assert 0.0 <= pred.confidence <= 1.0
        if pred.review_reason is None:
            assert pred.confidence >= trained_classifier.accept_level_


def test_explanations_quote_the_text_as_written(trained_classifier):
    text = normalize("Ứng dụng phần mềm tiêm chủng để quản lý F0 và tiêm vắc xin Covid-19 cho công nhân")
    pred = trained_classifier.predict([text])[0]
    assert pred.explanations[pred.primary]
    for phrases in pred.explanations.values():
        for phrase in phrases:
            assert phrase in text  # original spelling and case, not the lowercase feature
        lowered = [p.lower() for p in phrases]
        assert not any(a != b and a in b for a in lowered for b in lowered)  # each said once


def test_explanations_never_consist_of_function_words_only(trained_classifier, splits):
    texts = [normalize(r.text) for r in splits["test"][:40]]
    for pred in trained_classifier.predict(texts):
        for phrases in pred.explanations.values():
            for phrase in phrases:
                # one phrase = one feature; "ra vào" (a word: checkpoints) is not "ra" + "vào"
                assert not only_function_words(phrase.lower().replace(" ", "_")), phrase


def test_bulk_predictions_without_explanations_are_otherwise_the_same(trained_classifier, splits):
    texts = [normalize(r.text) for r in splits["test"][:15]]
    full, bulk = trained_classifier.predict(texts), trained_classifier.predict(texts, explain=False)
    assert all(b.explanations == {} for b in bulk)
    assert [(f.labels, f.probabilities, f.review_reason) for f in full] == \
        [(b.labels, b.probabilities, b.review_reason) for b in bulk]


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("12345 !!! ...", "no_content"),
    ("Improving the onboarding workflow for new staff members in the warehouse", "not_vietnamese"),
    ("qwxz plmk vbnt zzkq", "not_vietnamese"),
])
def test_texts_without_basis_always_need_review(trained_classifier, text, reason):
    pred = trained_classifier.predict([normalize(text)])[0]
    assert pred.needs_review and pred.review_reason == reason


def test_held_out_quality_beats_a_floor(trained_classifier, splits):
    m = evaluate_classifier(trained_classifier, splits["test"])
    assert m["macro_f1"] >= 0.70
    assert m["ece"] <= 0.08
    assert m["accepted_tag_precision"] is None or m["accepted_tag_precision"] >= 0.9


def test_training_adds_each_accented_text_typed_without_tone_marks_in_its_group():
    texts = ["Cải tiến máy dập", "Cai tien quy trinh"]
    Y = np.array([[1, 0], [0, 1]])
    all_texts, all_Y, groups = FieldClassifier()._augment(texts, Y, ["g1", "g2"])
    assert all_texts == texts + ["Cai tien may dap"]  # the unaccented text has no second copy
    assert all_Y.tolist() == [[1, 0], [0, 1], [1, 0]] and groups == ["g1", "g2", "g1"]
    assert FieldClassifier(fold_augment=False)._augment(texts, Y, ["g1", "g2"])[0] == texts


def test_texts_typed_without_tone_marks_are_read_nearly_as_well(trained_classifier, splits):
    records = splits["test"]
    folded = [dataclasses.replace(r, title=fold_diacritics(r.title), description=fold_diacritics(r.description))
              for r in records]
    accented, plain = evaluate_classifier(trained_classifier, records), evaluate_classifier(trained_classifier, folded)
    assert plain["macro_f1"] >= accented["macro_f1"] - 0.08
    assert plain["accepted_tag_precision"] >= 0.9


def test_compiled_probabilities_equal_the_sklearn_estimator(trained_classifier, splits):
    texts = [normalize(r.text) for r in splits["test"][:10]]
    clf = trained_classifier
    X = clf.features_.transform(texts)
    per_model = [clf._calibrate(m.decision_function(X)) for m in clf.models_]
    assert len(per_model) == clf.cv
    assert np.allclose(np.mean(per_model, axis=0), clf.predict_proba(texts))


def test_artifact_round_trip_gives_identical_predictions(trained_classifier, tmp_path, taxonomy):
    save_artifact(trained_classifier, {"version": "test"}, taxonomy.to_dict(), tmp_path)
    loaded, card = load_artifact(tmp_path)
    texts = [normalize("Lắp đặt hệ thống pin mặt trời trên mái nhà xưởng")]
    assert card["version"] == "test"
    assert np.allclose(loaded.predict_proba(texts), trained_classifier.predict_proba(texts))


def test_missing_artifact_says_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="sangkien train"):
        load_artifact(tmp_path)


@pytest.mark.parametrize("text, feature, expected", [
    ("Phần mềm Quản lý hồ sơ", "quản_lý hồ_sơ", "Quản lý hồ sơ"),
    ("TIÊM VẮC XIN", "vắc_xin", "VẮC XIN"),
    ("không có", "bệnh_viện", None),
])
def test_surface_form(text, feature, expected):
    assert surface_form(text, feature) == expected


@pytest.mark.parametrize("feature, expected", [
    ("tại", True),
    ("của các", True),
    ("tuy_nhiên", True),
    ("tại bệnh_viện", False),
    ("bệnh_viện", False),
    ("chuyển_đổi số", False),
])
def test_only_function_words(feature, expected):
    assert only_function_words(feature) is expected
