"""Programmatic copies of an initiative: the edits people make when they resubmit one.

Used to derive the labelled duplicate pairs of ``data/`` and the 200,000-row scale corpus. Each
edit is a pure function of the text and a ``random.Random``, so a seed reproduces the data.
"""

from __future__ import annotations

import random
import re
import unicodedata
from functools import partial

from model.legacy import _TCVN3, _UNICODE
from model.normalize import fold_diacritics

# Synonyms and near-synonyms of the genre (both directions are used).
SYNONYMS: tuple[tuple[str, str], ...] = (
    ("nâng cao", "cải thiện"), ("giảm", "hạn chế"), ("tiết kiệm", "tiết giảm"),
    ("người lao động", "công nhân"), ("ứng dụng", "áp dụng"), ("hiệu quả", "kết quả"),
    ("giải pháp", "biện pháp"), ("thực hiện", "triển khai"), ("nhanh chóng", "kịp thời"),
    ("quy trình", "trình tự"), ("khó khăn", "vướng mắc"), ("cán bộ", "nhân viên"),
    ("xây dựng", "thiết lập"), ("sử dụng", "dùng"), ("đảm bảo", "bảo đảm"),
    ("chất lượng", "hiệu suất"), ("thuận tiện", "thuận lợi"), ("kiểm tra", "rà soát"),
    ("hướng dẫn", "chỉ dẫn"), ("tăng", "nâng"), ("phần mềm", "ứng dụng phần mềm"),
    ("đơn vị", "cơ quan"), ("học sinh", "các em học sinh"), ("người bệnh", "bệnh nhân"),
    ("cải tiến", "đổi mới"), ("thời gian", "thời lượng"), ("chi phí", "kinh phí"),
    ("tổ chức", "sắp xếp"), ("nhiều", "không ít"), ("rất", "khá"),
)
PADDING = (
    "Sáng kiến đã được Hội đồng sáng kiến cơ sở đánh giá cao.",
    "Giải pháp có thể nhân rộng ra các đơn vị khác trong ngành.",
    "Đề nghị Công đoàn cấp trên xem xét, công nhận sáng kiến.",
    "Sáng kiến được áp dụng từ đầu năm và đến nay vẫn duy trì.",
    "Tập thể đơn vị thống nhất đăng ký sáng kiến này tham gia Chương trình.",
    "Kính đề nghị Hội đồng xem xét.",
    "Chi phí thực hiện thấp, dễ áp dụng.",
)
_SENTENCE = re.compile(r"(?<=[^\d\s][.!?;])\s+|\n+")
# Old-style tone placement ("hoà", "thuý") that some keyboards still produce.
_OLD_STYLE = {
    "òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "òe": "oè", "óe": "oé",
    "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ",
}
_TO_TCVN3 = {u: t for u, t in zip(_UNICODE, _TCVN3, strict=True) if len(t) == 1}


def sentences(text: str) -> list[str]:
    """Split into sentences or lines, dropping empties."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def reorder(text: str, rng: random.Random) -> str:
    parts = sentences(text)
    if len(parts) > 1:
        while True:
            shuffled = parts[:]
            rng.shuffle(shuffled)
            if shuffled != parts:
                return " ".join(shuffled)
    return text


def swap_synonyms(text: str, rng: random.Random, share: float = 0.6) -> str:
    """Replace a share (at least one) of the synonym-table phrases found in the text."""
    found = [
        (src, dst) for a, b in SYNONYMS for src, dst in ((a, b), (b, a))
        if re.search(rf"\b{re.escape(src)}\b", text, re.IGNORECASE)
    ]
    rng.shuffle(found)
    chosen = [p for i, p in enumerate(found) if i == 0 or rng.random() < share]
    out, used = text, set()
    for src, dst in chosen:
        if src not in used and dst not in used:
            out = re.sub(rf"\b{re.escape(src)}\b", partial(_same_case, dst), out, count=2,
                         flags=re.IGNORECASE)
            used |= {src, dst}
    return out


def _same_case(replacement: str, match: re.Match[str]) -> str:
    return replacement[:1].upper() + replacement[1:] if match.group(0)[:1].isupper() else replacement


def strip_diacritics(text: str, rng: random.Random | None = None) -> str:
    return fold_diacritics(text)


def to_nfd(text: str, rng: random.Random | None = None) -> str:
    return unicodedata.normalize("NFD", text)


def old_tone_style(text: str, rng: random.Random | None = None) -> str:
    """
    >>> old_tone_style("hòa bình, thủy lợi")
    'hoà bình, thuỷ lợi'
    """
    return re.sub("|".join(_OLD_STYLE), lambda m: _OLD_STYLE[m.group(0)], text)


def to_tcvn3(text: str, rng: random.Random | None = None) -> str:
    """Re-type lowercase Vietnamese letters in the TCVN3 (ABC) layout, as old .doc files hold them."""
    return "".join(_TO_TCVN3.get(ch, ch) for ch in text)


def pad(text: str, rng: random.Random) -> str:
    extra = rng.choice(PADDING)
    return f"{text} {extra}" if rng.random() < 0.7 else f"{extra} {text}"


def truncate(text: str, rng: random.Random) -> str:
    """Drop the last sentence, or cut a single sentence to about two thirds."""
    parts = sentences(text)
    if len(parts) > 2:
        return " ".join(parts[:-1])
    words = text.split()
    return " ".join(words[: max(3, int(len(words) * 0.7))])


def typos(text: str, rng: random.Random, rate: float = 0.06) -> str:
    """Drop, double or swap a letter in a few words (at least one), as hurried typing does."""
    words = text.split(" ")
    eligible = [i for i, w in enumerate(words) if len(w) > 3]
    for i in rng.sample(eligible, min(len(eligible), max(1, round(rate * len(eligible))))):
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        op = rng.choice(("drop", "double", "swap"))
        words[i] = {"drop": w[:j] + w[j + 1 :], "double": w[:j] + w[j] + w[j:],
                    "swap": w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]}[op]
    return " ".join(words)


TEXT_EDITS = {
    "reorder": reorder, "synonyms": swap_synonyms, "no_diacritics": strip_diacritics,
    "nfd": to_nfd, "tone_style": old_tone_style, "padding": pad, "truncation": truncate,
    "typos": typos, "legacy_tcvn3": to_tcvn3,
}
