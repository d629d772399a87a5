"""Table-driven tests for every normalisation rule, with real Vietnamese strings."""

import unicodedata

import pytest

from model.normalize import (
    check_content, clean_characters, fold_diacritics, normalize, segment, segment_many,
    strip_boilerplate, syllable_share, to_nfc, unify_tone_marks,
)

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


@pytest.mark.parametrize("raw, expected", [
    (NFD("Ứng dụng phần mềm quản lý"), "Ứng dụng phần mềm quản lý"),
    (NFD("Trường THCS Nguyễn Trãi"), "Trường THCS Nguyễn Trãi"),
    ("Việt Nam", "Việt Nam"),
])
def test_nfc_composes_decomposed_input(raw, expected):
    assert raw != expected or raw == "Việt Nam"
    assert to_nfc(raw) == expected
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("hoà giải", "hòa giải"), ("Thuý Hằng", "Thúy Hằng"), ("khoẻ mạnh", "khỏe mạnh"),
    ("thuỷ lợi", "thủy lợi"), ("HOÀ BÌNH", "HÒA BÌNH"), ("quả", "quả"), ("qủa", "quả"),
    ("tuỳ chỉnh", "tùy chỉnh"), ("hòa", "hòa"),
])
def test_tone_marks_unified(raw, expected):
    assert unify_tone_marks(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("“Sáng kiến” mới", '"Sáng kiến" mới'),
    ("‘ý tưởng’", "'ý tưởng'"),
    ("2021–2022 — giai đoạn", "2021-2022 - giai đoạn"),
    ("cải\u200btiến\ufeff", "cảitiến"),
    ("dòng\x07một", "dòngmột"),
    ("a\u00a0b", "a b"),
    ("dòng một\r\ndòng hai", "dòng một\ndòng hai"),
])
def test_characters_cleaned(raw, expected):
    assert clean_characters(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Tên sáng kiến: Máy gieo hạt", "Máy gieo hạt"),
    ("TÊN SÁNG KIẾN: Máy gieo hạt", "Máy gieo hạt"),
    ("1. Thực trạng: thiếu người", "thiếu người"),
    ("2) Giải pháp: lắp thêm cảm biến", "lắp thêm cảm biến"),
    ("- Hiệu quả: giảm 30% thời gian", "giảm 30% thời gian"),
    ("• Lắp biển báo", "Lắp biển báo"),
    ("Mô tả: abc. Hiệu quả: tăng năng suất", "abc. tăng năng suất"),
    ("1. Thuc trang: thieu nguoi. Giai phap: thue them", "thieu nguoi. thue them"),  # no diacritics
    ("Hiệu quả kinh tế rõ rệt", "Hiệu quả kinh tế rõ rệt"),  # no colon: a sentence, not a label
    ("Năm 2022. Tiết kiệm 12.5 triệu", "Năm 2022. Tiết kiệm 12.5 triệu"),
])
def test_boilerplate_stripped(raw, expected):
    assert strip_boilerplate(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("  Nâng   cao\t\tchất lượng \n\n\n dạy học  ", "Nâng cao chất lượng\ndạy học"),
    ("Tên sáng kiến:\u00a0 Số hoá hồ sơ", "Số hóa hồ sơ"),
])
def test_normalize_pipeline(raw, expected):
    assert normalize(raw) == expected


def test_normalize_is_idempotent_and_keeps_diacritics():
    text = "Tên sáng kiến: Ứng dụng Zalo OA để tiếp nhận phản ánh của người dân phường Hoà Bình"
    once = normalize(text)
    assert normalize(once) == once
    assert "Ứng dụng" in once and "Hòa Bình" in once
    assert fold_diacritics(once) != once  # diacritics are still there


@pytest.mark.parametrize("raw, expected", [
    ("Đổi mới phương pháp", "Doi moi phuong phap"), ("ĐOÀN VIÊN", "DOAN VIEN"),
    ("thủy lợi", "thuy loi"),
])
def test_fold_is_only_a_key(raw, expected):
    assert fold_diacritics(raw) == expected


@pytest.mark.parametrize("legacy, expected", [
    ("C¶i tiÕn quy tr×nh s¶n xuÊt", "Cải tiến quy trình sản xuất"),            # TCVN3 / ABC
    ("N©ng cao chÊt l\u00adîng gi¶ng d¹y m«n To¸n", "Nâng cao chất lượng giảng dạy môn Toán"),
    ("Caûi tieán quy trình saûn xuaát", "Cải tiến quy trình sản xuất"),      # VNI
    ("Tröôøng hoïc thaân thieän, hoïc sinh tích cöïc", "Trường học thân thiện, học sinh tích cực"),
])
def test_legacy_encodings_converted(legacy, expected):
    assert normalize(legacy) == expected


@pytest.mark.parametrize("text", [
    "Cải tiến quy trình sản xuất", "Bó hoa", "Có ý kiến", "Đã áp dụng ở 3 xã",
    "Bài giảng điện tử môn Tiếng Anh lớp 6",
])
def test_unicode_text_is_never_treated_as_legacy(text):
    assert normalize(text) == text


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("   \n ", "empty"), ("123 456 - 7/8", "no_content"), ("!!! ???", "no_content"),
    ("Improving the onboarding workflow for new staff members", "not_vietnamese"),
    ("asdkjh qwezx plmkoq", "not_vietnamese"),
    ("Cải tiến quy trình tiếp nhận hồ sơ", None),
    ("Cai tien quy trinh tiep nhan ho so", None),  # typed without diacritics: still Vietnamese
    ("Ứng dụng Zalo OA và Google Form để khảo sát", None),  # brand names in Vietnamese prose
])
def test_content_check(text, reason):
    assert check_content(normalize(text)).reason == reason


def test_syllable_share_separates_languages():
    assert syllable_share("Nâng cao chất lượng khám chữa bệnh") == 1.0
    assert syllable_share("the quick brown fox jumps") < 0.5


@pytest.mark.parametrize("text, words", [
    ("Ứng dụng phần mềm quản lý hồ sơ", ["Ứng_dụng", "phần_mềm", "quản_lý", "hồ_sơ"]),
    ("Cải tiến quy trình khám bệnh", ["Cải_tiến", "quy_trình"]),
])
def test_segment_joins_words(text, words):
    out = segment(text).split()
    for w in words:
        assert w in out


def test_segment_is_cached_and_batch_consistent():
    text = "Nâng cao chất lượng giảng dạy môn Ngữ văn"
    segment.cache_clear()
    first = segment(text)
    info = segment.cache_info()
    assert segment(text) == first and segment.cache_info().hits == info.hits + 1
    assert segment_many([text, text, ""]) == [first, first, ""]
