"""model.wordseg must segment exactly as underthesea's word_tokenize does, only faster."""

from __future__ import annotations

import pytest
from underthesea import word_tokenize

from model.normalize import normalize
from model.records import read_jsonl
from training.dataset import DATA
from model.wordseg import CRFWordSegmenter, default_segmenter, parse_template, word_segment


def _project_texts(data_dir=DATA) -> list[str]:
    texts = []
    for path in sorted((data_dir / "records").glob("*.jsonl")):
        for _, row in read_jsonl(path):
            raw = f"{row['title']}. {row['description']}"
            texts += [raw, normalize(raw)]
    return texts


def test_identical_to_underthesea_on_every_project_text() -> None:
    texts = _project_texts()
    assert len(texts) > 1000
    mismatches = [t for t in texts if word_segment(t) != word_tokenize(t, format="text")]
    assert mismatches == []


@pytest.mark.parametrize("text", [
    "x",                                   # one token: windows run off both ends
    "Hà Nội",
    "Năm 2023, Bệnh viện ABC",             # digits, capitals, punctuation
    "ĐẠI HỌC BÁCH KHOA HÀ NỘI",            # all capitals
    "COVID-19 ² ٣ ǅ",                      # digits Python and Rust disagree about
    "Ứng dụng phần mềm quản lý hồ sơ bệnh án điện tử tại Trung tâm Y tế quận Cầu Giấy",
    "ung dung phan mem quan ly ho so",     # typed without diacritics
    "e-mail: vanthu@hanoi.gov.vn; 12/3/2024; 1.500.000 đồng; 25%",
    "Giáo viên  tổ   Toán\n\nđổi mới phương pháp dạy học.",
])
def test_identical_to_underthesea_on_edge_cases(text: str) -> None:
    assert word_segment(text) == word_tokenize(text, format="text")


def test_tags_are_b_or_i_and_start_a_word() -> None:
    tags = default_segmenter().tag(["Bác", "sĩ", "bây", "giờ"])
    assert tags == ["B-W", "I-W", "B-W", "I-W"]
    assert default_segmenter().tag([]) == []


@pytest.mark.parametrize("name,start,end,attr", [
    ("T[0]", 0, 0, ""),
    ("T[-2,-1]", -2, -1, ""),
    ("T[1].lower", 1, 1, "lower"),
    ("T[0,2].is_in_dict", 0, 2, "is_in_dict"),
])
def test_parse_template(name: str, start: int, end: int, attr: str) -> None:
    template = parse_template(name)
    assert (template.start, template.end, template.attr) == (start, end, attr)


def test_unknown_template_says_the_model_format_changed() -> None:
    with pytest.raises(ValueError, match="model format changed"):
        parse_template("W[0]|suffix")


def test_loads_from_an_explicit_directory_too() -> None:
    from model.wordseg import model_dir

    segmenter = CRFWordSegmenter.from_underthesea(model_dir())
    assert segmenter.labels == ["B-W", "I-W"]
    assert segmenter.words(["sinh", "viên", "đi", "học"]) == ["sinh viên", "đi", "học"]
