"""The export reader on small real files: encodings, delimiters, XLSX, JSONL, broken rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from pathlib import Path

import pytest

from model.errors import SangkienError
from training.export_reader import (
    SKIPPED_KINDS,
    ColumnMap,
    ExportError,
    detect_columns,
    load_column_config,
    read_export,
)

TITLE = "Cải tiến quy trình tiếp nhận hồ sơ tại bộ phận một cửa"
TEXT = ("Ứng dụng phần mềm xếp hàng tự động, rút ngắn thời gian chờ của người dân; "
        "đề xuất được áp dụng tại UBND phường Kim Liên từ tháng 3.")
UNIT = "UBND phường Kim Liên"
AUTHOR = "Nguyễn Thị Hằng"
HEADER = ["Mã sáng kiến", "Tên sáng kiến", "Nội dung", "Đơn vị", "Tác giả", "Lĩnh vực", "Ngày nộp"]
ROWS = [
    ["SK-001", TITLE, TEXT, UNIT, AUTHOR, "Cải cách hành chính", "2024-03-15"],
    ["SK-002", "Số hoá hồ sơ lưu trữ của trường Tiểu học Trưng Vương",
     "Quét và đánh chỉ mục toàn bộ hồ sơ học sinh, tra cứu trong vài giây.",
     "Trường Tiểu học Trưng Vương", "Lê Văn Đức", "Giáo dục", "2024-04-02"],
]
TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Encode as Vietnamese Excel does: base letters from the code page, tone marks combining.

    Plain NFD does not work: it also splits â/ê/ô/ă/ơ/ư, which cp1258 only has precomposed.
    """
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
        out += base.encode("cp1258") + "".join(c for c in parts if c in TONE_MARKS).encode("cp1258")
    return bytes(out)


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    """Rows as CSV text, quoting every cell (cells hold commas and line breaks)."""
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'
    return "".join(delimiter.join(cell(c) for c in row) + "\r\n" for row in rows)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def skipped(data) -> int:
    return sum(1 for p in data.problems if p.kind in SKIPPED_KINDS)


def kinds(data) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for p in data.problems:
        out.setdefault(p.row_number, set()).add(p.kind)
    return out


# ---------------------------------------------------------------------------- CSV encodings

@pytest.mark.parametrize("encode, expected_encoding", [
    (lambda s: s.encode("utf-8"), "utf-8"),
    (lambda s: b"\xef\xbb\xbf" + s.encode("utf-8"), "utf-8-sig"),
    (to_cp1258, "cp1258"),
    (lambda s: s.encode("utf-16"), "utf-16"),                 # Excel "Unicode text"
])
def test_csv_encodings_read_back_the_nfc_original(tmp_path, encode, expected_encoding):
    data_bytes = encode(csv_text([HEADER, *ROWS]))
    path = write(tmp_path, "export.csv", data_bytes)
    data = read_export(path)
    assert data.format == "csv"
    assert data.encoding == expected_encoding
    assert data.sha256 == hashlib.sha256(data_bytes).hexdigest()
    assert data.columns.id == "Mã sáng kiến"              # no "\ufeff" glued to the first header
    assert [r.row_number for r in data.rows] == [2, 3]
    first = data.rows[0]
    assert (first.id, first.title, first.text, first.unit, first.author, first.date) == (
        "SK-001", TITLE, TEXT, UNIT, AUTHOR, "2024-03-15")
    assert unicodedata.is_normalized("NFC", first.title)
    assert data.total_rows == 2 and data.problems == []


def test_cp1258_bytes_really_use_combining_tone_marks():
    raw = to_cp1258(TITLE)
    assert raw.decode("cp1258") != TITLE                    # decomposed on disk ...
    assert unicodedata.normalize("NFC", raw.decode("cp1258")) == TITLE   # ... NFC gives it back


@pytest.mark.parametrize("name, delimiter", [
    ("export.csv", ";"), ("export.csv", "\t"), ("export.tsv", "\t"), ("export.txt", ","),
])
def test_delimiter_is_sniffed(tmp_path, name, delimiter):
    path = write(tmp_path, name, csv_text([HEADER, *ROWS], delimiter))
    data = read_export(path)
    assert [r.title for r in data.rows] == [TITLE, ROWS[1][1]]
    assert data.rows[0].text == TEXT                        # the comma inside TEXT stayed inside


def test_unquoted_semicolon_file_with_commas_in_text(tmp_path):
    lines = ["Mã;Tên sáng kiến;Nội dung;Đơn vị",
             f"1;{TITLE};Bước 1, bước 2, bước 3;{UNIT}",
             "2;Tiết kiệm điện;Tắt đèn, tắt quạt khi ra khỏi phòng;Công ty Điện lực Đống Đa"]
    data = read_export(write(tmp_path, "export.csv", "\n".join(lines) + "\n"))
    assert [r.text for r in data.rows] == ["Bước 1, bước 2, bước 3",
                                           "Tắt đèn, tắt quạt khi ra khỏi phòng"]


def test_excel_sep_line_sets_delimiter_and_is_not_a_row(tmp_path):
    text = "sep=;\n" + csv_text([HEADER, *ROWS], ";")
    data = read_export(write(tmp_path, "export.csv", text))
    assert data.header_row == 1 and [r.row_number for r in data.rows] == [2, 3]
    assert data.rows[0].unit == UNIT


def test_quoted_multiline_cell_is_one_row(tmp_path):
    multi = "Bước 1: tiếp nhận hồ sơ.\nBước 2: trả kết quả, trong ngày."
    rows = [HEADER, ["SK-001", TITLE, multi, UNIT, AUTHOR, "", ""], ROWS[1]]
    data = read_export(write(tmp_path, "export.csv", csv_text(rows)))
    assert data.rows[0].text == multi
    assert [r.row_number for r in data.rows] == [2, 3]       # records, as Excel numbers them
    assert data.rows[1].title == ROWS[1][1] and data.problems == []


def test_old_mac_line_endings(tmp_path):
    text = csv_text([HEADER, *ROWS]).replace("\r\n", "\r")
    data = read_export(write(tmp_path, "export.csv", text))
    assert [r.id for r in data.rows] == ["SK-001", "SK-002"]


# ---------------------------------------------------------------------------- broken rows

def test_invalid_bytes_in_one_row_are_reported_with_its_row_number(tmp_path):
    good = csv_text([HEADER, *ROWS]).encode("utf-8")
    bad_row = ('"SK-003","Tiết kiệm văn phòng phẩm","In hai mặt \xff giấy","' + UNIT
               + '","","",""\r\n')
    raw = good + bad_row.encode("utf-8").replace("\xff".encode("utf-8"), b"\xff")
    data = read_export(write(tmp_path, "export.csv", raw))
    assert data.encoding == "utf-8"
    assert kinds(data) == {4: {"bad_encoding"}}
    assert data.rows[2].row_number == 4                      # kept: it still has text
    assert data.rows[2].title == "Tiết kiệm văn phòng phẩm"  # the valid UTF-8 around it is intact
    assert "\ufffd" in data.rows[2].text
    assert data.rows[0].title == TITLE


def test_row_pasted_in_cp1258_inside_a_utf8_file_is_decoded_and_flagged(tmp_path):
    raw = (csv_text([HEADER, ROWS[0]]).encode("utf-8")
           + to_cp1258(csv_text([ROWS[1]])))
    data = read_export(write(tmp_path, "export.csv", raw))
    assert data.encoding == "utf-8"
    assert data.rows[1].title == ROWS[1][1]
    problems = [p for p in data.problems if p.row_number == 3]
    assert [p.kind for p in problems] == ["bad_encoding"] and "cp1258" in problems[0].message


def test_empty_rows_and_duplicate_ids_are_counted(tmp_path):
    rows = [
        HEADER,
        ["SK-001", TITLE, TEXT, UNIT, AUTHOR, "", ""],        # row 2
        ["", "", "", "", "", "", ""],                          # row 3: empty row
        ["SK-001", "Tiết kiệm điện", "Tắt đèn khi ra khỏi phòng", UNIT, "", "", ""],  # 4: dup
        ["SK-004", "  ", "   ", UNIT, AUTHOR, "", ""],         # row 5: no title, no text
        ["SK-001", "", "Chỉ có nội dung", UNIT, "", "", ""],  # row 6: second duplicate
        ["", "Không có mã", "Nội dung", UNIT, "", "", ""],    # row 7: empty id
        ["", "", "", "", "", "", ""],                          # trailing: not data
        ["", "", "", "", "", "", ""],
    ]
    data = read_export(write(tmp_path, "export.csv", csv_text(rows, ";")))
    assert [(r.row_number, r.id) for r in data.rows] == [
        (2, "SK-001"), (4, "SK-001#4"), (6, "SK-001#6"), (7, "row-7")]
    assert kinds(data) == {3: {"empty_row"}, 4: {"duplicate_id"},
                           5: {"empty_text"}, 6: {"duplicate_id"}, 7: {"missing_id"}}
    assert data.total_rows == 6
    assert data.total_rows == len(data.rows) + skipped(data) == len(data.rows) + data.skipped_rows
    dup = next(p for p in data.problems if p.row_number == 4)
    assert "row 2" in dup.message and "SK-001#4" in dup.message


def test_ragged_rows_are_padded_and_reported(tmp_path):
    text = ("Mã,Tên sáng kiến,Nội dung,Đơn vị\n"
            f"1,{TITLE},Nội dung đầy đủ,{UNIT}\n"
            "2,Thiếu ô cuối\n"
            "3,Thừa ô,Nội dung,Đơn vị A,giá trị lạc\n"
            "4,Thừa ô trống,Nội dung,Đơn vị B,,\n")
    data = read_export(write(tmp_path, "export.csv", text))
    assert [r.id for r in data.rows] == ["1", "2", "3", "4"]
    assert data.rows[1].text == "" and data.rows[1].unit == ""
    assert data.rows[2].unit == "Đơn vị A"
    ragged = [p.row_number for p in data.problems if p.kind == "ragged_row"]
    assert ragged == [3, 4]                                  # trailing empty cells are harmless


def test_unclosed_quote_is_reported_not_silently_merged(tmp_path):
    text = ("Mã,Tên sáng kiến,Nội dung\n"
            "1,Sổ tay điện tử,\"mở ngoặc không đóng\n"
            "2,Tiết kiệm điện,nội dung b\n"
            "3,Số hoá hồ sơ,nội dung c\n")
    data = read_export(write(tmp_path, "export.csv", text))
    problem = next(p for p in data.problems if p.kind == "unclosed_quote")
    assert problem.row_number == 2 and "lines 2-4" in problem.message
    assert len(data.rows) == 1


def test_too_long_text_is_truncated_and_reported(tmp_path):
    long_text = "Nâng cao chất lượng phục vụ. " * 50
    rows = [HEADER, ["SK-001", TITLE, long_text, UNIT, "", "", ""], ROWS[1]]
    data = read_export(write(tmp_path, "export.csv", csv_text(rows)), max_text_chars=100)
    assert len(data.rows[0].text) <= 100 and long_text.startswith(data.rows[0].text)
    assert [(p.row_number, p.kind) for p in data.problems if p.kind == "too_long"] == [
        (2, "too_long")]
    assert len(data.rows) == 2


def test_banner_rows_above_the_header_are_passed_over(tmp_path):
    rows = [["DANH SÁCH SÁNG KIẾN NĂM 2024", "", "", "", "", "", ""],
            ["", "", "", "", "", "", ""], HEADER, *ROWS]
    data = read_export(write(tmp_path, "export.csv", csv_text(rows)))
    assert data.header_row == 3
    assert [r.row_number for r in data.rows] == [4, 5]
    assert data.columns.title == "Tên sáng kiến" and data.total_rows == 2


# ---------------------------------------------------------------------------- column detection

@pytest.mark.parametrize("headers, expected", [
    (["STT", "Ten sang kien", "NỘI DUNG", "Don vi cong tac", "Ho va ten", "Linh vuc", "Ngay nop"],
     ColumnMap("STT", "Ten sang kien", "NỘI DUNG", "Don vi cong tac", "Ho va ten", "Linh vuc",
               "Ngay nop")),
    (["STT", "Mã SK", "Tên giải pháp", "Mô tả sáng kiến", "Cơ quan", "Người đề xuất",
      "Lĩnh vực áp dụng", "Ngày đăng ký"],
     ColumnMap("Mã SK", "Tên giải pháp", "Mô tả sáng kiến", "Cơ quan", "Người đề xuất",
               "Lĩnh vực áp dụng", "Ngày đăng ký")),
    (["external_id", "title", "description", "unit", "author", "category", "submitted_at"],
     ColumnMap("external_id", "title", "description", "unit", "author", "category",
               "submitted_at")),
    (["  Tên sáng kiến (*) ", "Nội dung tóm tắt sáng kiến", "Đơn vị công tác của tác giả",
      "Họ và tên tác giả", "Hiệu quả của giải pháp"],
     ColumnMap(None, "Tên sáng kiến (*)", "Nội dung tóm tắt sáng kiến",
               "Đơn vị công tác của tác giả", "Họ và tên tác giả", None, None)),
    (["TIÊU ĐỀ", "tóm_tắt", "Công đoàn cơ sở"],
     ColumnMap(None, "TIÊU ĐỀ", "tóm_tắt", "Công đoàn cơ sở", None, None, None)),
    (["Số lượng", "Ghi chú"], ColumnMap(None, None, None, None, None, None, None)),
])
def test_detect_columns(headers, expected):
    assert detect_columns(headers) == expected


def test_detected_names_keep_their_diacritics():
    columns = detect_columns(["Ten sang kien", "Nội dung"])
    assert columns.title == "Ten sang kien" and columns.text == "Nội dung"


def test_override_wins_over_detection(tmp_path):
    rows = [["Tên sáng kiến", "Nội dung", "Tóm tắt"],
            [TITLE, "Nội dung dài", "Tóm tắt ngắn"]]
    path = write(tmp_path, "export.csv", csv_text(rows))
    assert read_export(path).rows[0].text == "Nội dung dài"
    data = read_export(path, overrides={"text": "Tóm tắt"})
    assert data.columns.text == "Tóm tắt" and data.rows[0].text == "Tóm tắt ngắn"
    loose = read_export(path, overrides={"text": "tom tat"})      # typed without diacritics
    assert loose.columns.text == "Tóm tắt"


def test_empty_override_marks_a_column_absent(tmp_path):
    rows = [["Mã", "Tên sáng kiến"], ["7", TITLE], ["7", "Tiết kiệm điện"]]
    data = read_export(write(tmp_path, "export.csv", csv_text(rows)), overrides={"id": ""})
    assert data.columns.id is None
    assert [r.id for r in data.rows] == ["row-2", "row-3"]
    assert not any(p.kind == "duplicate_id" for p in data.problems)


def test_override_naming_a_missing_column_lists_the_headers(tmp_path):
    path = write(tmp_path, "export.csv", csv_text([HEADER, *ROWS]))
    with pytest.raises(ExportError) as err:
        read_export(path, overrides={"text": "Mô tả chi tiết"})
    message = str(err.value)
    assert "Mô tả chi tiết" in message and "Tên sáng kiến" in message and "--text-column" in message


def test_override_with_an_unknown_target_is_refused():
    with pytest.raises(ExportError, match="unknown column target"):
        detect_columns(["Nội dung"], {"noi_dung": "Nội dung"})


def test_missing_text_column_lists_the_headers(tmp_path):
    rows = [["Mã", "Đơn vị", "Ngày"], ["1", UNIT, "2024-01-01"]]
    with pytest.raises(ExportError) as err:
        read_export(write(tmp_path, "export.csv", csv_text(rows)))
    message = str(err.value)
    assert "no text column found; headers are ['Mã', 'Đơn vị', 'Ngày']" in message
    assert "--text-column" in message and "config" in message
    assert isinstance(err.value, SangkienError)


def test_title_alone_is_enough(tmp_path):
    rows = [["Mã", "Tên sáng kiến"], ["1", TITLE]]
    data = read_export(write(tmp_path, "export.csv", csv_text(rows)))
    assert data.rows[0].title == TITLE and data.rows[0].text == ""
    missing = next(p for p in data.problems if p.kind == "missing_columns")
    assert "text" in missing.message and "unit" in missing.message


@pytest.mark.parametrize("name, content", [
    ("columns.toml", 'title = "Tên SK"\ntext = "Nội dung"\n'),
    ("columns.json", '{"title": "Tên SK", "text_column": "Nội dung"}'),
    ("columns.toml", '[columns]\ntitle = "Tên SK"\ntext = "Nội dung"\n'),
])
def test_load_column_config(tmp_path, name, content):
    config = load_column_config(write(tmp_path, name, content))
    assert config == {"title": "Tên SK", "text": "Nội dung"}


@pytest.mark.parametrize("name, content, fragment", [
    ("columns.toml", 'txt = "Nội dung"\n', "keys must be one of"),
    ("columns.json", '{"text": ', "cannot be parsed"),
    ("missing.toml", None, "not found"),
])
def test_bad_column_config(tmp_path, name, content, fragment):
    path = tmp_path / name if content is None else write(tmp_path, name, content)
    with pytest.raises(ExportError, match=fragment):
        load_column_config(path)


def test_config_drives_read_export(tmp_path):
    rows = [["Tên SK", "Thông tin sáng kiến"], [TITLE, TEXT]]
    path = write(tmp_path, "export.csv", csv_text(rows))
    assert read_export(path).rows[0].text == ""             # not a known text header
    config = load_column_config(write(tmp_path, "columns.toml",
                                      'text = "Thông tin sáng kiến"\ntitle = "Tên SK"\n'))
    data = read_export(path, overrides=config)
    assert (data.rows[0].title, data.rows[0].text) == (TITLE, TEXT)


# ---------------------------------------------------------------------------- XLSX

def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_xlsx_with_numbers_dates_and_a_banner(tmp_path):
    path = _workbook(tmp_path / "export.xlsx", {"Sáng kiến": [
        ["DANH SÁCH SÁNG KIẾN NĂM 2024"],
        ["Mã số", "Tên sáng kiến", "Nội dung", "Đơn vị", "Ngày nộp"],
        [101, TITLE, TEXT, UNIT, dt.datetime(2024, 3, 15)],
        [102.0, "Số hoá hồ sơ", None, "Trường Tiểu học Trưng Vương", dt.date(2024, 4, 2)],
        [None, None, None, None, None],
        [103, None, None, UNIT, None],
    ]})
    data = read_export(path)
    assert (data.format, data.encoding, data.sheet, data.header_row) == (
        "xlsx", None, "Sáng kiến", 2)
    assert data.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(r.row_number, r.id, r.date) for r in data.rows] == [
        (3, "101", "2024-03-15"), (4, "102", "2024-04-02")]
    assert data.rows[0].title == TITLE and data.rows[1].text == ""
    assert kinds(data)[5] == {"empty_row"} and kinds(data)[6] == {"empty_text"}
    assert data.total_rows == 4 == len(data.rows) + skipped(data)


def test_xlsx_picks_the_sheet_with_a_text_column(tmp_path):
    path = _workbook(tmp_path / "export.xlsx", {
        "Hướng dẫn": [["Bảng này xuất từ cổng sáng kiến"], ["Không sửa tiêu đề cột"]],
        "Dữ liệu": [["Tên sáng kiến", "Mô tả"], [TITLE, TEXT]],
    })
    data = read_export(path)
    assert data.sheet == "Dữ liệu" and data.rows[0].text == TEXT


def test_xlsx_override_is_looked_up_on_every_sheet(tmp_path):
    path = _workbook(tmp_path / "export.xlsx", {
        "Tổng hợp": [["Đơn vị", "Số sáng kiến"], [UNIT, 3]],
        "Chi tiết": [["Đề xuất", "Thông tin sáng kiến"], [TITLE, TEXT]],
    })
    with pytest.raises(ExportError, match="no text column"):
        read_export(path)
    data = read_export(path, overrides={"text": "Thông tin sáng kiến"})
    assert data.sheet == "Chi tiết" and data.rows[0].text == TEXT


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", "Mã,Tên\n1,a\n".encode()])
def test_not_an_xlsx_file(tmp_path, content):
    with pytest.raises(ExportError, match="is not a valid XLSX file"):
        read_export(write(tmp_path, "export.xlsx", content))


# ---------------------------------------------------------------------------- JSONL

def test_jsonl_with_a_broken_line(tmp_path):
    lines = [
        json.dumps({"external_id": "SK-001", "title": TITLE, "description": TEXT, "unit": UNIT}),
        json.dumps({"external_id": "SK-002", "title": "Số hoá hồ sơ", "description": "Quét hồ sơ"},
                   ensure_ascii=False),
        '{"external_id": "SK-003", "title": "Thiếu ngoặc"',
        "",
        '["không phải object"]',
        json.dumps({"external_id": 4, "title": "Tiết kiệm điện", "description": None,
                    "unit": UNIT, "tags": ["năng lượng"]}, ensure_ascii=False),
    ]
    data = read_export(write(tmp_path, "export.jsonl", "\n".join(lines) + "\n"))
    assert data.format == "jsonl" and data.encoding == "utf-8"
    assert [(r.row_number, r.id) for r in data.rows] == [(1, "SK-001"), (2, "SK-002"), (6, "4")]
    assert data.rows[0].title == TITLE and data.rows[2].text == ""
    bad = [(p.row_number, p.kind) for p in data.problems if p.kind == "bad_json"]
    assert bad == [(3, "bad_json"), (5, "bad_json")]
    assert data.total_rows == 5 == len(data.rows) + skipped(data)


def test_json_array_file_is_refused_with_a_fix(tmp_path):
    text = json.dumps([{"title": TITLE}], ensure_ascii=False, indent=2)
    with pytest.raises(ExportError, match="jq"):
        read_export(write(tmp_path, "export.jsonl", text))


# ---------------------------------------------------------------------------- file-level errors

@pytest.mark.parametrize("name, content, fragment", [
    ("export.csv", b"", "has no data rows"),
    ("export.csv", "\ufeffMã,Tên sáng kiến,Nội dung\r\n\r\n".encode(), "has no data rows"),
    ("export.jsonl", b"\n\n", "has no data rows"),
    ("export.pdf", b"%PDF-1.4", ".csv"),
    ("export.xls", b"\xd0\xcf\x11\xe0", ".xlsx"),
    ("export", b"a,b\n", "supported"),
])
def test_file_level_errors(tmp_path, name, content, fragment):
    with pytest.raises(ExportError, match=fragment):
        read_export(write(tmp_path, name, content))


def test_missing_file(tmp_path):
    with pytest.raises(ExportError, match="not found"):
        read_export(tmp_path / "khong-co.csv")
