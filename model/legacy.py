"""Detect and convert Vietnamese text typed in legacy 8-bit fonts (TCVN3/ABC, VNI).

Offices still paste from old .doc files set in ".VnTime" (TCVN3) or "VNI-Times" (VNI). Once such
text is read as Unicode it shows as "Trêng häc" or "Tröôøng hoïc" instead of "Trường học". The
character tables below are the published TCVN 5712:1993 (ABC) and VNI-Windows layouts.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The 134 Vietnamese letters outside ASCII, in the same order as the two legacy tables below.
_UNICODE = (
    "À Á Â Ã È É Ê Ì Í Ò Ó Ô Õ Ù Ú Ý à á â ã è é ê ì í ò ó ô õ ù ú ý Ă ă Đ đ Ĩ ĩ Ũ ũ Ơ ơ Ư ư "
    "Ạ ạ Ả ả Ấ ấ Ầ ầ Ẩ ẩ Ẫ ẫ Ậ ậ Ắ ắ Ằ ằ Ẳ ẳ Ẵ ẵ Ặ ặ Ẹ ẹ Ẻ ẻ Ẽ ẽ Ế ế Ề ề Ể ể Ễ ễ Ệ ệ "
    "Ỉ ỉ Ị ị Ọ ọ Ỏ ỏ Ố ố Ồ ồ Ổ ổ Ỗ ỗ Ộ ộ Ớ ớ Ờ ờ Ở ở Ỡ ỡ Ợ ợ Ụ ụ Ủ ủ Ứ ứ Ừ ừ Ử ử Ữ ữ Ự ự "
    "Ỳ ỳ Ỵ ỵ Ỷ ỷ Ỹ ỹ"
).split()

_TCVN3 = (
    "Aµ A¸ ¢ A· EÌ EÐ £ I× IÝ Oß Oã ¤ Oâ Uï Uó Yý µ ¸ © · Ì Ð ª × Ý ß ã « â ï ó ý ¡ ¨ § ® IÜ Ü "
    "Uò ò ¥ ¬ ¦ \u00ad A¹ ¹ A¶ ¶ ¢Ê Ê ¢Ç Ç ¢È È ¢É É ¢Ë Ë ¡¾ ¾ ¡» » ¡¼ ¼ ¡½ ½ ¡Æ Æ EÑ Ñ EÎ Î "
    "EÏ Ï £Õ Õ £Ò Ò £Ó Ó £Ô Ô £Ö Ö IØ Ø IÞ Þ Oä ä Oá á ¤è è ¤å å ¤æ æ ¤ç ç ¤é é ¥í í ¥ê ê "
    "¥ë ë ¥ì ì ¥î î Uô ô Uñ ñ ¦ø ø ¦õ õ ¦ö ö ¦÷ ÷ ¦ù ù Yú ú Yþ þ Yû û Yü ü"
).split()

_VNI = (
    "AØ AÙ AÂ AÕ EØ EÙ EÂ Ì Í OØ OÙ OÂ OÕ UØ UÙ YÙ aø aù aâ aõ eø eù eâ ì í oø où oâ oõ uø uù yù "
    "AÊ aê Ñ ñ Ó ó UÕ uõ Ô ô Ö ö AÏ aï AÛ aû AÁ aá AÀ aà AÅ aå AÃ aã AÄ aä AÉ aé AÈ aè AÚ aú "
    "AÜ aü AË aë EÏ eï EÛ eû EÕ eõ EÁ eá EÀ eà EÅ eå EÃ eã EÄ eä Æ æ Ò ò OÏ oï OÛ oû OÁ oá "
    "OÀ oà OÅ oå OÃ oã OÄ oä ÔÙ ôù ÔØ ôø ÔÛ ôû ÔÕ ôõ ÔÏ ôï UÏ uï UÛ uû ÖÙ öù ÖØ öø ÖÛ öû "
    "ÖÕ öõ ÖÏ öï YØ yø Î î YÛ yû YÕ yõ"
).split()

# Characters that essentially never occur in Unicode Vietnamese prose but are frequent in each
# legacy layout: they are the detection signal.
_TCVN3_MARKERS = set("µ¸·¹¶©ª¬®§¡¢£¤¥¦¨\u00ad¾¼½×ÝßÞÇÐÑÎÏÖØäåæçëîñøö÷þûü")
_TCVN3_PATTERN = re.compile("[" + re.escape("".join(sorted(_TCVN3_MARKERS))) + "]")
_VNI_PATTERN = re.compile(r"[aeiouyAEIOUYôöÔÖ][øùûõïâêáàåãäéèúüëØÙÛÕÏÂÊÁÀÅÃÄÉÈÚÜË]")

_VIET_LETTERS = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯ\u1ea0-\u1ef9]")


def _translator(table: list[str]) -> tuple[re.Pattern[str], dict[str, str]]:
    mapping = dict(zip(table, _UNICODE, strict=True))
    keys = sorted(mapping, key=len, reverse=True)  # two-character sequences first
    return re.compile("|".join(re.escape(k) for k in keys)), mapping


@lru_cache(maxsize=2)
def _compiled(encoding: str) -> tuple[re.Pattern[str], dict[str, str]]:
    return _translator(_TCVN3 if encoding == "tcvn3" else _VNI)


def convert_legacy(text: str, encoding: str) -> str:
    """Convert text typed in ``encoding`` ("tcvn3" or "vni") to NFC Unicode.

    >>> convert_legacy("Tr\u00adêng häc", "tcvn3")
    'Trường học'
    >>> convert_legacy("Tröôøng hoïc", "vni")
    'Trường học'
    """
    if encoding not in ("tcvn3", "vni"):
        raise ValueError(f"unknown legacy encoding {encoding!r}: use 'tcvn3' or 'vni'")
    pattern, mapping = _compiled(encoding)
    return unicodedata.normalize("NFC", pattern.sub(lambda m: mapping[m.group(0)], text))


def detect_legacy_encoding(text: str) -> str | None:
    """Return "tcvn3" or "vni" when ``text`` looks typed in that legacy layout, else None.

    Text that already carries Vietnamese Unicode letters is never treated as legacy, so
    correct input is left alone.

    >>> detect_legacy_encoding("C¶i tiÕn quy tr×nh s¶n xuÊt")
    'tcvn3'
    >>> detect_legacy_encoding("Caûi tieán quy trình saûn xuaát")
    'vni'
    >>> detect_legacy_encoding("Cải tiến quy trình sản xuất") is None
    True
    """
    nfc = unicodedata.normalize("NFC", text)
    vni_hits = len(_VNI_PATTERN.findall(nfc))
    tcvn_hits = len(_TCVN3_PATTERN.findall(nfc))
    native = len(_VIET_LETTERS.findall(nfc))
    if max(vni_hits, tcvn_hits) < 2 or native > max(vni_hits, tcvn_hits):
        return None
    return "vni" if vni_hits >= tcvn_hits else "tcvn3"
