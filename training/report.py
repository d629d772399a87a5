"""Write an audit's files: summary.json, groups.csv, rows.csv and one self-contained report.html.

The HTML page must open on an office PC with no network: CSS inline, charts as inline SVG drawn
here, no scripts. Everything that came from the export is HTML-escaped (Jinja2 autoescape, and
``html.escape`` inside the SVG); overlapping passages are ``<mark>``-ed by character spans.
Nothing here reads a clock, so the same tables give the same bytes.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"
SHOWN_DISAGREEMENTS = 200
SHOWN_PROBLEMS = 300
SHOWN_UNITS = 12
SHOWN_GROUPS_TABLE = 30
SHOWN_TEXT_CHARS = 1800
BEFORE, AFTER = "#b8c4d6", "#1f5fa8"      # bar colours: all rows / distinct initiatives
KINDS = {   # row problem kinds, as a reviewer reads them
    "empty_row": "Dòng trống", "empty_text": "Không có tên và nội dung", "bad_json": "Dòng JSON hỏng",
    "bad_encoding": "Lỗi mã hoá ký tự", "duplicate_id": "Trùng mã sáng kiến",
    "missing_id": "Thiếu mã sáng kiến", "ragged_row": "Sai số ô so với tiêu đề",
    "too_long": "Quá dài, đã cắt bớt", "missing_columns": "Thiếu cột",
    "duplicate_header": "Tiêu đề cột bị lặp", "no_content": "Không còn chữ sau chuẩn hoá",
}
STATES = {"agree": "Trùng khớp (agree)", "partial": "Khớp một phần (partial)",
          "disagree": "Khác nhau (disagree)", "unmapped": "Không khớp danh mục (unmapped)",
          "missing": "Để trống (missing)"}


# ---------------------------------------------------------------------------- plain files

def write_json(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str]) -> Path:
    """UTF-8 with BOM (Excel then shows Vietnamese correctly), LF line ends, header always."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    return path


GROUP_COLUMNS = ["group_id", "size", "representative", "representative_row", "member_ids",
                 "member_rows", "primary", "title", "pairs", "stages", "min_score", "max_score",
                 "max_jaccard", "max_containment", "max_cosine", "same_author_pairs",
                 "same_unit_pairs"]
ROW_COLUMNS = ["row_number", "id", "title", "unit", "author", "date", "submitted_field",
               "submitted_codes", "predicted_fields", "primary", "confidence", "needs_review",
               "review_reason", "submitted_vs_predicted", "group_id", "is_representative",
               "prediction"]


def write_outputs(out: Path, summary: dict[str, Any], groups: list[dict[str, Any]],
                  rows: list[dict[str, Any]], shown: list[dict[str, Any]]) -> list[Path]:
    """The four deterministic files of an audit, in ``out``."""
    page = render_report(summary, groups, rows, shown)
    (out / "report.html").write_text(page, "utf-8")
    return [write_json(out / "summary.json", summary),
            write_csv(out / "groups.csv", groups, GROUP_COLUMNS),
            write_csv(out / "rows.csv", rows, ROW_COLUMNS),
            out / "report.html"]


# ---------------------------------------------------------------------------- highlighting

def highlight(text: str, spans: list[tuple[int, int]], limit: int = SHOWN_TEXT_CHARS) -> Markup:
    """``text`` escaped, with ``<mark>`` over the spans (merged, clipped at ``limit`` chars)."""
    cut = text[:limit]
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(e, len(cut))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, pos = [], 0
    for start, end in merged:
        parts.append(html.escape(cut[pos:start]))
        parts.append(f"<mark>{html.escape(cut[start:end])}</mark>")
        pos = end
    parts.append(html.escape(cut[pos:]))
    if len(text) > limit:
        parts.append(f" <span class=\"more\">… (+{len(text) - limit} ký tự)</span>")
    return Markup("".join(parts))


def highlight_parts(text: str, spans: list[tuple[int, int]]) -> tuple[Markup, Markup]:
    """(title line, body) of a normalised "title\\ndescription" text, each with its marks, so
    the page shows the title once, in bold, and still marks what it shares."""
    cut = text.find("\n")
    if cut < 0:
        return Markup(""), highlight(text, spans)
    head = [(s, min(e, cut)) for s, e in spans if s < cut]
    body = [(max(s, cut + 1) - cut - 1, e - cut - 1) for s, e in spans if e > cut + 1]
    return highlight(text[:cut], head), highlight(text[cut + 1:], body)


# ---------------------------------------------------------------------------- SVG charts

def _short(label: str, width: int = 54) -> str:
    return label if len(label) <= width else label[: width - 1].rstrip() + "…"


def paired_bars_svg(items: list[tuple[str, int, int]], caption: str) -> Markup:
    """Horizontal bars, two per label: all rows (light) and distinct initiatives (dark)."""
    label_w, bar_w, row_h, top = 380, 560, 30, 34
    top_value = max([b for _, b, _ in items] + [1])
    height = top + row_h * len(items) + 8
    out = [f'<svg class="chart" role="img" '
           f'viewBox="0 0 {label_w + bar_w + 70} {height}" width="{label_w + bar_w + 70}" '
           f'height="{height}"><title>{html.escape(caption)}</title>',
           _legend(label_w)]
    for i, (label, before, after) in enumerate(items):
        y = top + i * row_h
        w1, w2 = bar_w * before / top_value, bar_w * after / top_value
        out.append(
            f'<g><title>{html.escape(label)}: {before:,} dòng, {after:,} sau khi gộp trùng</title>'
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="lbl">'
            f'{html.escape(_short(label))}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w1:.1f}" height="11" fill="{BEFORE}"/>'
            f'<rect x="{label_w}" y="{y + 14}" width="{w2:.1f}" height="11" fill="{AFTER}"/>'
            f'<text x="{label_w + w1 + 4:.1f}" y="{y + 12}" class="val">{before:,}</text>'
            f'<text x="{label_w + w2 + 4:.1f}" y="{y + 24}" class="val">{after:,}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))


def _legend(x: int) -> str:
    return (f'<rect x="{x}" y="6" width="12" height="12" fill="{BEFORE}"/>'
            f'<text x="{x + 18}" y="16" class="val">Tất cả các dòng (all rows)</text>'
            f'<rect x="{x + 200}" y="6" width="12" height="12" fill="{AFTER}"/>'
            f'<text x="{x + 218}" y="16" class="val">Sau khi gộp trùng (distinct)</text>')


def histogram_svg(hist: dict[str, int], caption: str) -> Markup:
    """Vertical bars: number of duplicate groups of each size."""
    sizes = sorted(hist, key=int)
    if not sizes:
        return Markup('<p class="note">Không có nhóm trùng lặp nào (no duplicate groups).</p>')
    col_w, plot_h, top, bottom = 56, 160, 20, 40
    width = max(240, 40 + col_w * len(sizes))
    top_value = max(hist.values())
    out = [f'<svg class="chart" role="img" '
           f'viewBox="0 0 {width} {top + plot_h + bottom}" width="{width}" '
           f'height="{top + plot_h + bottom}"><title>{html.escape(caption)}</title>']
    for i, size in enumerate(sizes):
        h = plot_h * hist[size] / top_value
        x, y = 30 + i * col_w, top + plot_h - h
        out.append(f'<g><title>{hist[size]:,} nhóm có {size} bản</title>'
                   f'<rect x="{x}" y="{y:.1f}" width="{col_w - 14}" height="{h:.1f}" fill="{AFTER}"/>'
                   f'<text x="{x + (col_w - 14) / 2}" y="{y - 4:.1f}" text-anchor="middle" '
                   f'class="val">{hist[size]:,}</text>'
                   f'<text x="{x + (col_w - 14) / 2}" y="{top + plot_h + 16}" text-anchor="middle" '
                   f'class="lbl">{html.escape(size)}</text></g>')
    out.append(f'<text x="{width / 2}" y="{top + plot_h + 34}" text-anchor="middle" class="val">'
               f'số bản trong nhóm (group size)</text></svg>')
    return Markup("".join(out))


def unit_items(per_unit: dict[str, dict[str, int]], shown: int = SHOWN_UNITS
               ) -> list[tuple[str, int, int]]:
    """The units with most rows, then one bar for all the others together."""
    items = [(u, c["rows"], c["distinct"]) for u, c in per_unit.items()]
    head, tail = items[:shown], items[shown:]
    if tail:
        head.append((f"{len(tail):,} đơn vị khác (other units)", sum(b for _, b, _ in tail),
                     sum(a for _, _, a in tail)))
    return head


# ---------------------------------------------------------------------------- page

def _fmt_share(value: float) -> str:
    return f"{100 * value:.1f}".replace(".", ",") + " %"


def render_report(summary: dict[str, Any], groups: list[dict[str, Any]],
                  rows: list[dict[str, Any]], shown: list[dict[str, Any]]) -> str:
    """report.html from the same figures as summary.json (never recounted here)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["n"] = lambda v: f"{v:,}".replace(",", ".")       # 12.345, as Vietnamese write it
    env.filters["share"] = _fmt_share
    env.filters["dec"] = lambda v: f"{float(v):.2f}".replace(".", ",")
    fields = summary["per_field"]
    field_items = [(f'{f["name"]} ({code})', f["rows"], f["distinct"]) for code, f in fields.items()]
    disagreements = [r for r in rows if r["submitted_vs_predicted"] == "disagree"]
    for group in shown:
        for pair in group["pairs"]:
            pair["rep_title"], pair["rep_html"] = highlight_parts(
                group["representative"]["text"], pair["rep_spans"])
            pair["member_title"], pair["member_html"] = highlight_parts(
                pair["member"]["text"], pair["member_spans"])
    return env.get_template("report.html.j2").render(
        s=summary, c=summary["counts"], fields=fields, shown=shown,
        field_chart=paired_bars_svg(field_items, "Số sáng kiến theo lĩnh vực"),
        unit_chart=paired_bars_svg(unit_items(summary["per_unit"]), "Số sáng kiến theo đơn vị"),
        size_chart=histogram_svg(summary["group_size_histogram"], "Kích thước nhóm trùng lặp"),
        disagreements=disagreements[:SHOWN_DISAGREEMENTS], n_disagreements=len(disagreements),
        problems=summary["problems"][:SHOWN_PROBLEMS], n_problems=len(summary["problems"]),
        largest=groups[:SHOWN_GROUPS_TABLE], n_units=len(summary["per_unit"]),
        names={code: f["name"] for code, f in fields.items()}, kinds=KINDS, states=STATES)
