"""Vietnamese text normalisation shared by training and serving.

Everything here is a pure function of its input. ``normalize`` is the one entry point that
training, the service and the audit all call, so a text is cleaned the same way everywhere.
Diacritics are never removed from what is stored or shown: ``fold_diacritics`` exists only to
build an extra matching key for copies typed without tone marks.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from model.legacy import convert_legacy, detect_legacy_encoding

_CHAR_MAP = str.maketrans(
    {
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e", ""),  # zero-width
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u00b4": "'", "`": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u3000": " ", "\u2026": "...",
    }
)
_BULLET = re.compile(r"^\s*(?:[\u2022\u25cf\u25aa\u25e6\u2219\u00b7\u25a0\u25ba\u27a2\u2023*+\-]+|"
                     r"(?:\d{1,2}|[a-zđ]|[IVX]{1,4})[.)](?!\d))\s*", re.MULTILINE)
def _fold_label(label: str) -> str:
    """Labels also arrive typed without diacritics ("Thuc trang:")."""
    decomposed = unicodedata.normalize("NFD", label.replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_FORM_LABELS = (
    "tên sáng kiến", "tên giải pháp", "tên đề tài", "tên ý tưởng", "mô tả ngắn gọn", "mô tả",
    "nội dung giải pháp", "nội dung sáng kiến", "nội dung", "thực trạng", "giải pháp",
    "hiệu quả đạt được", "hiệu quả", "lợi ích", "kết quả đạt được", "phạm vi áp dụng",
    "khả năng áp dụng",
)
_LABEL = re.compile(
    r"(?P<pre>^[ \t]*|[.!?;][ \t]*)(?:"
    + "|".join(re.escape(x) for x in _FORM_LABELS + tuple(_fold_label(x) for x in _FORM_LABELS))
    + r")[ \t]*[:：][ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
_LETTER = re.compile(r"[^\W\d_]")
# Control, format, private-use and unassigned characters of the BMP, except tab and newlines.
_CONTROL = re.compile("[" + "".join(
    re.escape(chr(c)) for c in range(0x10000)
    if unicodedata.category(chr(c)) in ("Cc", "Cf", "Co", "Cs", "Cn") and chr(c) not in "\t\n\v\f"
) + "]")


def to_nfc(text: str) -> str:
    """Compose decomposed (NFD) input, as some keyboards and Word exports produce it.

    >>> to_nfc("Vie\\u0302\\u0323t Nam") == "Việt Nam"
    True
    """
    return unicodedata.normalize("NFC", text)


def clean_characters(text: str) -> str:
    """Drop zero-width and control characters; unify quotes, dashes and spaces.

    >>> clean_characters("“Sáng\u200bkiến” – mới\x07")
    '"Sángkiến" - mới'
    """
    text = text.translate(_CHAR_MAP).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


@lru_cache(maxsize=1)
def _tone_tables() -> tuple[dict[str, str], dict[str, str]]:
    """underthesea's map of misplaced tone marks (~2,900 syllables), loaded once, lazily."""
    from underthesea.pipeline.text_normalize.text_normalizer import character_map, token_map

    return token_map, character_map


def unify_tone_marks(text: str) -> str:
    """Put tone marks in one place per syllable ("hoà" and "hòa" both become "hòa").

    Uses underthesea's rules (the same table its ``text_normalize`` applies token by token),
    and only rewrites texts that contain a syllable from that table.

    >>> unify_tone_marks("Hoà bình, khoẻ mạnh, thuỷ lợi")
    'Hòa bình, khỏe mạnh, thủy lợi'
    """
    token_map, characters = _tone_tables()
    for odd, standard in characters.items():  # "ð" typed for "đ"
        text = text.replace(odd, standard)
    if token_map.keys().isdisjoint(_WORD.findall(text)):
        return text
    return _WORD.sub(lambda m: token_map.get(m.group(0), m.group(0)), text)


def strip_boilerplate(text: str) -> str:
    """Remove the labels and numbering of the portal's form, which say nothing about the idea.

    >>> strip_boilerplate("Tên sáng kiến: Máy gieo hạt\\n1. Thực trạng: thiếu người")
    'Máy gieo hạt\\nthiếu người'
    """
    text = _BULLET.sub("", text)
    text = _LABEL.sub(lambda m: m.group("pre"), text)
    return _BULLET.sub("", text)


def collapse_whitespace(text: str) -> str:
    """One space between words, one newline between lines, nothing at the ends.

    >>> collapse_whitespace("  a \\t b \\n\\n  c ")
    'a b\\nc'
    """
    return _BLANK_LINES.sub("\n", _SPACES.sub(" ", text)).strip()


def fix_legacy_encoding(text: str) -> str:
    """Convert TCVN3/VNI text to Unicode, but only when that makes it more Vietnamese.

    >>> fix_legacy_encoding("N©ng cao chÊt l\\u00adîng gi¶ng d¹y")
    'Nâng cao chất lượng giảng dạy'
    >>> fix_legacy_encoding("Nâng cao chất lượng")
    'Nâng cao chất lượng'
    """
    encoding = detect_legacy_encoding(text)
    if encoding is None:
        return text
    converted = convert_legacy(text, encoding)
    return converted if syllable_share(converted) > syllable_share(text) else text


def normalize(text: str) -> str:
    """The canonical form of an initiative text, used for features, hashing and matching.

    Case and diacritics are kept (explanations are shown in the writer's spelling).

    >>> normalize("Tên sáng kiến:  Ứng dụng  phần mềm quản lý  hồ sơ (hoà giải)")
    'Ứng dụng phần mềm quản lý hồ sơ (hòa giải)'
    """
    text = fix_legacy_encoding(to_nfc(text))
    text = clean_characters(text)
    text = to_nfc(unify_tone_marks(text))
    return collapse_whitespace(strip_boilerplate(collapse_whitespace(text)))


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {c: None for c in range(0x0300, 0x0370)}  # combining marks
    for c in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        base = "".join(x for x in unicodedata.normalize("NFD", chr(c)) if not unicodedata.combining(x))
        if base != chr(c) and base.isascii():
            table[c] = base
    table.update({ord("đ"): "d", ord("Đ"): "D"})
    return table


_FOLD = _fold_table()


def fold_diacritics(text: str) -> str:
    """ASCII matching key for copies typed without tone marks. Never store or show it.

    >>> fold_diacritics("Đổi mới phương pháp giảng dạy")
    'Doi moi phuong phap giang day'
    """
    return text.translate(_FOLD)


@lru_cache(maxsize=65536)
def segment(text: str) -> str:
    """Join multi-syllable words with "_" (underthesea's CRF word segmentation), cached.

    Same words as ``underthesea.word_tokenize(text, format="text")``, computed by
    ``model.wordseg`` ~3× faster. Still the slowest step of the pipeline, so results are
    memoised on the exact text; callers should pass normalised text so equal texts share one
    cache entry.

    >>> segment("Ứng dụng phần mềm quản lý hồ sơ")
    'Ứng_dụng phần_mềm quản_lý hồ_sơ'
    """
    from model.wordseg import word_segment

    return word_segment(text) if text else ""


def segment_many(texts: list[str]) -> list[str]:
    """Segment a batch, doing each distinct text once."""
    return [segment(t) for t in texts]


@lru_cache(maxsize=1)
def _syllables() -> tuple[frozenset[str], frozenset[str]]:
    """Known Vietnamese syllables and their folded forms, from underthesea's Viet74K list."""
    path = resources.files("underthesea").joinpath("corpus", "data", "Viet74K.txt")
    words = path.read_text("utf-8")
    sylls = {s for line in words.splitlines() for s in line.lower().split() if s.isalpha()}
    exact = frozenset(to_nfc(s) for s in sylls)
    return exact, frozenset(fold_diacritics(s) for s in exact)


def syllable_share(text: str, folded: bool = False) -> float:
    """Share of the words in ``text`` that are Vietnamese syllables (0.0 when it has none).

    >>> syllable_share("Cải tiến quy trình")
    1.0
    >>> syllable_share("improve the workflow") < 0.5
    True
    """
    words = [w.lower() for w in _WORD.findall(text) if not w.isdigit()]
    if not words:
        return 0.0
    exact, folded_set = _syllables()
    if folded:
        return sum(fold_diacritics(w) in folded_set for w in words) / len(words)
    return sum(w in exact for w in words) / len(words)


@dataclass(frozen=True)
class ContentCheck:
    """Why a text gives a model nothing to work with; ``reason`` is None when it is fine."""

    reason: str | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def check_content(text: str) -> ContentCheck:
    """Say whether a normalised text is empty, has no words, or is not Vietnamese.

    Text typed without diacritics still counts as Vietnamese.

    >>> check_content("Cai tien quy trinh tiep nhan ho so").ok
    True
    >>> check_content("123 - 456 !!!").reason
    'no_content'
    >>> check_content("Improving the onboarding workflow for new staff").reason
    'not_vietnamese'
    """
    if not text.strip():
        return ContentCheck("empty", "the text is empty after normalisation")
    if not _LETTER.search(text):
        return ContentCheck("no_content", "the text has no words, only numbers or punctuation")
    if syllable_share(text) < 0.5 and syllable_share(text, folded=True) < 0.7:
        return ContentCheck(
            "not_vietnamese", "most words are not Vietnamese syllables: is this Vietnamese text?"
        )
    return ContentCheck(None)
