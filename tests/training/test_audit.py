"""The audit on small real exports (CSV UTF-8-BOM, Windows-1258 CSV, XLSX, JSONL) written here.

Models are the session fixtures of tests/conftest.py, never artifacts/. Each export holds ~90
records of data/ plus planted copies made with the edits of training.variants, a few rows
whose submitted field is planted wrong, and (where a test says so) broken rows.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from model.normalize import normalize
from training.audit import (
    AuditModels,
    Tags,
    agreement,
    date_key,
    field_lookup,
    run_audit,
    submitted_codes,
)
from training.cli import main
from training.dataset import load_all, make_copy
from training.report import highlight, histogram_svg

HEADER = ["Mã sáng kiến", "Tên sáng kiến", "Nội dung", "Đơn vị", "Tác giả", "Lĩnh vực", "Ngày nộp"]
OUTPUTS = ("summary.json", "groups.csv", "rows.csv", "report.html")
COPY_KINDS = ("nfd", "no_diacritics", "padding", "tone_style", "exact")
TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


# ---------------------------------------------------------------------------- building exports

def _field_cell(code: str, taxonomy, i: int) -> str:
    """Submitted field written three ways: the code, the Vietnamese name, the name in capitals."""
    return (code, taxonomy.name(code), taxonomy.name(code).upper())[i % 3]


def build_rows(taxonomy) -> tuple[list[list[str]], set[tuple[str, str]], set[str]]:
    """Rows (without header), the planted (original, copy) id pairs, and ids with a wrong field."""
    rng = random.Random(5)
    originals = [r for r in load_all()[1] if not r.rewrite_of and r.description]
    picked = rng.sample(originals, 90)
    rows, planted, wrong = [], set(), set()
    for i, r in enumerate(picked):
        field = _field_cell(r.fields[0], taxonomy, i)
        if i % 15 == 7 and "health" not in r.fields:
            field = "Y tế"                                  # planted wrong: not a health record
            wrong.add(r.id)
        rows.append([r.id, r.title, r.description, r.unit, r.author, field, r.submitted_at])
    for n, (r, kind) in enumerate(zip(picked[:10], COPY_KINDS * 2)):
        copy_id = f"{r.id}-copy{n}"
        if kind == "exact":
            title, text = r.title, r.description
        else:
            c = make_copy(r, kind, rng.choice(originals), rng, 1)
            title, text = c["title"], c["description"]
        rows.append([copy_id, title, text, r.unit, r.author, taxonomy.name(r.fields[0]), "2025-01-15"])
        planted.add((r.id, copy_id))
    rng.shuffle(rows)
    return rows, planted, wrong


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([HEADER] + rows)
    text = buf.getvalue()
    return to_cp1258(text) if encoding == "cp1258" else text.encode(encoding)


def to_cp1258(text: str) -> bytes:
    """As Vietnamese Excel writes it: precomposed base letters, tone marks combining.

    NFC first: cp1258 has no combining horn or breve, so an NFD cell could not be saved as is.
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
        marks = "".join(c for c in parts if c in TONE_MARKS)
        out += base.encode("cp1258", "replace") + marks.encode("cp1258")
    return bytes(out)


def write_export(path: Path, rows: list[list[str]]) -> Path:
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(["DANH SÁCH SÁNG KIẾN NĂM 2025"])      # a banner above the header
        ws.append(HEADER)
        for row in rows:
            ws.append(row)
        wb.save(path)
    elif path.suffix == ".jsonl":
        lines = [json.dumps(dict(zip(HEADER, row)), ensure_ascii=False) for row in rows]
        path.write_text("\n".join(lines) + "\n", "utf-8")
    else:
        path.write_bytes(csv_bytes(rows, "cp1258" if "1258" in path.name else "utf-8-sig"))
    return path


@pytest.fixture(scope="module")
def models(trained_classifier, dedup_rule, static_embedder, taxonomy) -> AuditModels:
    return AuditModels(trained_classifier, "test-classifier", dedup_rule, static_embedder, taxonomy)


@pytest.fixture(scope="module")
def export(taxonomy):
    return build_rows(taxonomy)


@pytest.fixture(scope="module")
def audited(tmp_path_factory, models, export) -> dict:
    """One audit of a UTF-8-BOM CSV with broken rows, shared by the tests that only read it."""
    rows, planted, wrong = export
    tmp = tmp_path_factory.mktemp("audit")
    path = tmp / "export.csv"
    data = csv_bytes(rows)
    broken = rows[5][:]
    broken[0] = rows[4][0]                       # duplicate id (data row 7 = file row 8)
    lines = data.split(b"\r\n")
    cp_row = csv_bytes([["SK-CP", "Tiết kiệm điện năng tại phân xưởng",
                         "Lắp đặt biến tần cho quạt hút, giảm điện năng tiêu thụ của xưởng.",
                         "Xưởng cơ khí", "Trần Văn Bình", "Kỹ thuật", "2024-05-01"]], "cp1258")
    cp_line = cp_row.split(b"\r\n")[1]
    extra = [b",,,,,,", csv_bytes([broken]).split(b"\r\n")[1], cp_line,
             csv_bytes([["SK-NUM", "1.", "2024", "", "", "", ""]]).split(b"\r\n")[1]]
    path.write_bytes(b"\r\n".join(lines[:6] + extra + lines[6:]))
    progress_calls: list[str] = []

    def progress(items, desc, total):
        progress_calls.append(desc)
        return items

    result = run_audit(path, tmp / "out", models, workers=1, progress=progress)
    return {"result": result, "out": tmp / "out", "path": path, "planted": planted,
            "wrong": wrong, "progress": progress_calls}


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"), newline="")))


def same_group(rows_csv: list[dict[str, str]], pairs: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The planted pairs that did NOT end up in one group."""
    group = {r["id"]: r["group_id"] for r in rows_csv}
    return [(a, b) for a, b in sorted(pairs) if not group[a] or group[a] != group[b]]


# ---------------------------------------------------------------------------- counts

def test_summary_counts_match_groups_csv_and_rows_csv_exactly(audited):
    out = audited["out"]
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    groups, rows = read_csv(out / "groups.csv"), read_csv(out / "rows.csv")
    counts = summary["counts"]
    sizes = [int(g["size"]) for g in groups]
    assert counts["rows"] == len(rows) == len({r["id"] for r in rows})
    assert counts["rows_in_file"] == counts["rows"] + counts["rows_skipped"]
    assert counts["distinct"] == counts["rows"] - sum(s - 1 for s in sizes)
    assert counts["duplicate_groups"] == len(groups) > 0
    assert counts["copies"] == sum(s - 1 for s in sizes)
    assert summary["group_size_histogram"] == {str(k): v for k, v in sorted(Counter(sizes).items())}
    members = Counter(r["group_id"] for r in rows if r["group_id"])
    for g in groups:
        assert g["member_ids"].split(";") == [r["id"] for r in sorted(
            (r for r in rows if r["group_id"] == g["group_id"]),
            key=lambda r: g["member_ids"].split(";").index(r["id"]))]
        assert members[g["group_id"]] == int(g["size"]) == len(g["member_ids"].split(";"))
        assert g["representative"] == g["member_ids"].split(";")[0]
    assert sum(f["rows"] for f in summary["per_field"].values()) == counts["rows"]
    assert sum(f["distinct"] for f in summary["per_field"].values()) == counts["distinct"]
    assert sum(u["distinct"] for u in summary["per_unit"].values()) == counts["distinct"]
    assert counts["classified_texts"] == counts["distinct"]     # one text per distinct initiative
    assert counts["inherited_predictions"] == counts["copies"]


def test_every_usable_row_is_in_rows_csv_once(audited):
    from training.export_reader import read_export

    data = read_export(audited["path"])
    rows = read_csv(audited["out"] / "rows.csv")
    assert [r["id"] for r in rows] == [r.id for r in data.rows]
    assert [int(r["row_number"]) for r in rows] == [r.row_number for r in data.rows]


def test_planted_copies_end_up_in_the_same_group(audited):
    rows = read_csv(audited["out"] / "rows.csv")
    assert same_group(rows, audited["planted"]) == []
    inherited = [r for r in rows if r["prediction"] == "inherited"]
    reps = {r["group_id"]: r for r in rows if r["is_representative"] == "yes"}
    assert inherited and all(r["primary"] == reps[r["group_id"]]["primary"] for r in inherited)


def test_broken_rows_are_listed_with_row_numbers_and_never_dropped(audited):
    summary = audited["result"].summary
    by_kind = {(p["kind"], p["row"]) for p in summary["problems"]}
    # file rows: 1 header, 2-6 data, 7 empty, 8 duplicate id, 9 cp1258 row, 10 no words
    assert ("empty_row", 7) in by_kind
    assert ("duplicate_id", 8) in by_kind
    assert ("bad_encoding", 9) in by_kind
    assert ("no_content", 10) in by_kind
    assert summary["problems_by_kind"]["empty_row"] == 1
    assert all(p["message"].startswith(f"row {p['row']}:") for p in summary["problems"] if p["row"])
    rows = {int(r["row_number"]): r for r in read_csv(audited["out"] / "rows.csv")}
    assert 7 not in rows and {8, 9, 10} <= set(rows)          # skipped vs kept-and-flagged
    assert rows[8]["id"].endswith("#8")
    assert rows[9]["title"] == "Tiết kiệm điện năng tại phân xưởng"
    assert rows[10]["group_id"] == "" and rows[10]["needs_review"] == "yes"


# ---------------------------------------------------------------------------- reproducible

def test_two_runs_are_byte_identical_with_one_or_two_workers(tmp_path, models, export):
    path = write_export(tmp_path / "export.csv", export[0])
    run_audit(path, tmp_path / "a", models, workers=1)
    run_audit(path, tmp_path / "b", models, workers=2)
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    timings = json.loads((tmp_path / "b" / "timings.json").read_text())
    assert timings["workers"] == 2 and "classifying" in timings["seconds"]


def test_every_long_step_reports_progress(audited):
    assert {"normalising", "embedding", "shingling", "semantic candidates", "classifying"} \
        <= set(audited["progress"])


# ---------------------------------------------------------------------------- formats

@pytest.mark.parametrize("name", ["export-1258.csv", "export.xlsx", "export.jsonl"])
def test_other_formats_give_the_same_groups(tmp_path, models, export, name):
    rows, planted, _ = export
    base = run_audit(write_export(tmp_path / "base.csv", rows), tmp_path / "base", models, workers=1)
    other = run_audit(write_export(tmp_path / name, rows), tmp_path / "other", models, workers=1)
    assert other.summary["input"]["format"] == {"csv": "csv", "xlsx": "xlsx", "jsonl": "jsonl"}[
        name.rsplit(".", 1)[1]]
    key = lambda out: sorted(g["member_ids"] for g in read_csv(out / "groups.csv"))
    assert key(tmp_path / "other") == key(tmp_path / "base")
    assert other.summary["counts"]["rows"] == base.summary["counts"]["rows"] == len(rows)
    assert same_group(read_csv(tmp_path / "other" / "rows.csv"), planted) == []
    if "1258" in name:
        assert other.summary["input"]["encoding"] == "cp1258"


# ---------------------------------------------------------------------------- report

def test_report_is_self_contained_and_shows_headline_numbers(audited):
    page = (audited["out"] / "report.html").read_text("utf-8")
    counts = audited["result"].summary["counts"]
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(script|link|img|iframe|object)\b", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    for key in ("rows", "distinct", "duplicate_groups"):
        assert f'<div class="v">{counts[key]}</div>' in page, key
    share = f"{100 * counts['share_of_copies']:.1f}".replace(".", ",")
    assert f'<div class="v">{share} %</div>' in page
    assert page.count("<svg") == 3


def test_report_marks_the_passages_a_pair_shares(audited):
    page = (audited["out"] / "report.html").read_text("utf-8")
    marks = [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", page, re.DOTALL)]
    assert marks
    rows = read_csv(audited["out"] / "rows.csv")
    group = next(r["group_id"] for r in rows if r["is_representative"] == "yes")
    assert f"Nhóm {group}" in page
    from training.export_reader import read_export

    texts = [normalize(f"{r.title}\n{r.text}") for r in read_export(audited["path"]).rows]
    for mark in marks:
        assert len(re.findall(r"[^\W_]+", mark)) >= 4 and any(mark in t for t in texts), mark


def test_submitted_vs_predicted_disagreements_are_listed(audited):
    page = (audited["out"] / "report.html").read_text("utf-8")
    summary = audited["result"].summary
    rows = read_csv(audited["out"] / "rows.csv")
    disagree = [r for r in rows if r["submitted_vs_predicted"] == "disagree"]
    assert len(disagree) == summary["field_labels"]["disagree"] > 0
    section = page.split('id="khac-nhau"', 1)[1].split("</table>", 1)[0]
    assert section.count("<tr>") - 1 == len(disagree)
    planted_wrong = {r["id"]: r for r in rows if r["id"] in audited["wrong"]}
    assert planted_wrong and all(r["submitted_codes"] == "health" for r in planted_wrong.values())
    assert sum(r["submitted_vs_predicted"] != "agree" for r in planted_wrong.values()) >= \
        len(planted_wrong) - 1
    mapped = [r for r in rows if r["submitted_field"] and r["id"] != "SK-NUM"]
    assert all(r["submitted_codes"] for r in mapped)        # codes, names and CAPITAL names map


def test_highlight_escapes_everything_and_marks_spans():
    text = "a <b>đậm</b> & \"x\" cuối"
    out = str(highlight(text, [(2, 13), (11, 15)]))
    assert out == "a <mark>&lt;b&gt;đậm&lt;/b&gt; &amp; </mark>&quot;x&quot; cuối"
    assert str(highlight("abcdef", [(4, 9)], limit=5)).startswith("abcd<mark>e</mark>")


def test_histogram_lists_each_size():
    svg = str(histogram_svg({"2": 7, "3": 1}, "sizes"))
    assert svg.count("<rect") == 2 and ">7<" in svg and ">3<" in svg


# ---------------------------------------------------------------------------- small rules

def test_submitted_fields_map_by_code_or_name_ignoring_case_and_accents(taxonomy):
    lookup = field_lookup(taxonomy)
    assert submitted_codes("GIÁO DỤC, ĐÀO TẠO", lookup) == ("education",)
    assert submitted_codes("giao duc", lookup) == ("education",)
    assert submitted_codes("y te", lookup) == ("health",)
    assert submitted_codes("Technology", lookup) == ("technology",)
    assert submitted_codes("Y tế; Giáo dục", lookup) == ("health", "education")
    assert submitted_codes("Cải cách hành chính", lookup) == ()
    tags = Tags(("education", "technology"), "education", False, "", 0.9)
    assert agreement(("education",), tags, "x") == "agree"
    assert agreement(("technology",), tags, "x") == "partial"
    assert agreement(("health",), tags, "x") == "disagree"
    assert agreement((), tags, "Cải cách") == "unmapped"
    assert agreement((), tags, " ") == "missing"


def test_dates_sort_day_first_and_unknown_last():
    assert date_key("15/03/2024") == "2024-03-15" == date_key("2024-03-15 08:00")
    assert date_key("1.2.2023") == "2023-02-01"
    assert date_key("không rõ") == "~" > date_key("2099-12-31")


# ---------------------------------------------------------------------------- CLI and errors

def test_missing_text_column_exits_2_with_one_line_message(tmp_path, capsys):
    path = tmp_path / "no-text.csv"
    path.write_text("Mã,Đơn vị,Tác giả\nSK-1,Phòng A,Lê B\n", "utf-8")
    assert main(["audit", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sangkien audit: error:") and "no text column" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_export_without_usable_rows_exits_2(tmp_path, capsys, models):
    from training.audit import AuditError

    path = tmp_path / "empty-texts.csv"
    path.write_text("Mã,Tên sáng kiến,Nội dung\nSK-1,,\nSK-2,,\n", "utf-8")
    with pytest.raises(AuditError, match="none of its 2 data rows is usable.*empty_text: 2"):
        run_audit(path, tmp_path / "out", models, workers=1)


def test_cli_audit_with_saved_models_and_column_override(tmp_path, capsys, trained_classifier,
                                                         dedup_rule, taxonomy, export):
    from model.artifact import save_artifact

    save_artifact(trained_classifier, {"version": "cli-test"}, taxonomy.to_dict(), tmp_path / "clf")
    (tmp_path / "rule.json").write_text(json.dumps(dedup_rule.to_dict()))
    rows = [[r[0], r[1], r[2], r[3], r[4], r[5], r[6]] for r in export[0][:40]]
    path = tmp_path / "export.csv"
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([HEADER[:2] + ["Ghi chú"] + HEADER[3:]] + rows)
    path.write_text(buf.getvalue(), "utf-8")
    argv = ["audit", str(path), "--out", str(tmp_path / "out"), "--classifier", str(tmp_path / "clf"),
            "--dedup-rule", str(tmp_path / "rule.json"), "--workers", "1"]
    assert main(argv + ["--text-column", "Ghi chú"]) == 0     # "Ghi chú" is no text synonym
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert printed["counts"] == summary["counts"] and summary["counts"]["rows"] == 40
    assert summary["input"]["columns"]["text"] == "Ghi chú"
    assert summary["models"]["classifier_version"] == "cli-test"
    assert set(printed["files"]) == set(OUTPUTS) | {"timings.json"}
