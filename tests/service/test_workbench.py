"""The reviewer workbench (/review): sign-in, queue, one submission, decisions, bad input."""

from __future__ import annotations

import re

import pytest

from api_support import REVIEW, as_payload
from workbench_support import csrf_of, decision_form, sign_in, store

ENGLISH = {"title": "Improving warehouse picking with handheld barcode scanners",
           "description": "The logistics team scans every pallet and the stock list updates itself.",
           "unit": "Kho vận miền Bắc", "author": "John Smith", "submitted_at": "2024-05-02"}


@pytest.fixture()
def stored(client, splits, no_diacritics_copy) -> dict[str, dict]:
    """An original and its copy typed without tone marks (flagged), an English text (needs a
    reviewer), and two ordinary records."""
    original, copy = no_diacritics_copy
    items = store(client, [as_payload(original), as_payload(splits["test"][2]), ENGLISH,
                           as_payload(splits["test"][3]), as_payload(copy)])
    return dict(zip(["original", "plain", "english", "plain2", "copy"], items))


@pytest.fixture()
def signed(client, stored):
    assert sign_in(client).status_code == 303
    return client


def waiting(html: str) -> int:
    return int(re.search(r'data-waiting="(\d+)"', html).group(1))


def queue_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


def decide(client, item_id: int, follow: bool = False, **overrides):
    page = client.get(f"/review/items/{item_id}")
    assert page.status_code == 200, page.text
    return client.post(f"/review/items/{item_id}/decision", data=decision_form(page.text, **overrides),
                       follow_redirects=follow)


# ---- access -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/review", "/review/items/1", "/review/next"])
def test_without_a_session_every_page_sends_to_sign_in(client, stored, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/review/sign-in?next=")
    page = client.get(path)
    assert page.status_code == 200 and "Đăng nhập để duyệt sáng kiến" in page.text
    assert stored["english"]["title"] not in page.text


def test_a_decision_without_a_session_stores_nothing(client, stored):
    r = client.post(f"/review/items/{stored['copy']['id']}/decision", data={"f": ["technology"], "seen": "0"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/review/sign-in")
    assert client.get(f"/v1/initiatives/{stored['copy']['id']}").json()["reviewed"] is False


def test_wrong_key_is_refused_and_keeps_the_name(client, stored):
    r = sign_in(client, key="not-the-key")
    assert r.status_code == 401 and "Khóa người duyệt không đúng" in r.text
    assert 'value="Nguyễn Thị Lan"' in r.text
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_sign_in_needs_the_csrf_token_and_a_name(client):
    client.get("/review/sign-in")
    r = client.post("/review/sign-in", data={"name": "Lan", "key": "review-secret"}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert client.get("/review", follow_redirects=False).status_code == 303
    assert sign_in(client, name="   ").status_code == 422


def test_session_cookie_is_signed_httponly_and_holds_no_key(client, stored):
    r = sign_in(client)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/review" in cookie and "SameSite=lax" in cookie
    assert "review-secret" not in cookie
    value = client.cookies.get("sangkien_review")
    client.cookies.clear()
    assert client.get("/review", headers={"Cookie": f"sangkien_review={value}"}).status_code == 200
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    r = client.get("/review", headers={"Cookie": f"sangkien_review={tampered}"}, follow_redirects=False)
    assert r.status_code == 303  # tampered → signed out


def test_sign_in_redirects_only_inside_the_workbench(client, stored):
    page = client.get("/review/sign-in")
    for target, expected in (("//evil.example/x", "/review"), ("https://evil.example", "/review"),
                             ("/review/items/1", "/review/items/1")):
        client.cookies.clear()
        page = client.get("/review/sign-in")
        r = client.post("/review/sign-in", data={"csrf": csrf_of(page.text), "name": "Lan", "key": "review-secret",
                                                 "next": target}, follow_redirects=False)
        assert r.headers["location"] == expected


def test_removing_a_key_ends_its_sessions(app_factory, stored):
    with app_factory() as c:
        sign_in(c)
        assert c.get("/review").status_code == 200
    with app_factory(reviewer_keys=["another-key"]) as c2:
        c2.cookies = c.cookies
        assert c2.get("/review", follow_redirects=False).status_code == 303


def test_sign_out_needs_csrf_and_ends_the_session(signed):
    page = signed.get("/review")
    assert signed.post("/review/sign-out", data={}).status_code == 403
    r = signed.post("/review/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert signed.get("/review", follow_redirects=False).status_code == 303


def test_no_reviewer_keys_configured_says_so(app_factory):
    with app_factory(reviewer_keys=[]) as c:
        page = c.get("/review")
        assert "SANGKIEN_REVIEWER_KEYS" in page.text
        assert sign_in(c).status_code in (401, 403)


# ---- queue ------------------------------------------------------------------------------------

def test_queue_lists_what_needs_a_decision_most_uncertain_first(signed, stored):
    page = signed.get("/review")
    assert page.status_code == 200
    ids = queue_ids(page.text)
    assert stored["copy"]["id"] in ids and stored["english"]["id"] in ids
    expected = [i for i in stored.values()
                if i["needs_review"] or any(d["is_duplicate"] for d in i["duplicates"])]
    assert sorted(ids) == sorted(i["id"] for i in expected)
    confidences = {i["id"]: i["tags"]["confidence"] for i in expected}
    assert [confidences[i] for i in ids] == sorted(confidences[i] for i in ids)
    assert waiting(page.text) == len(ids)
    assert "đang chờ duyệt" in page.text and "đã quyết định hôm nay" in page.text
    assert "Nghi trùng #" in page.text and "Phím tắt" in page.text
    for header in ("Content-Security-Policy", "X-Frame-Options"):
        assert header in page.headers
    assert "no-store" in page.headers["cache-control"]


def test_queue_filters_by_field_unit_and_date(signed, stored):
    eng = stored["english"]
    by_unit = signed.get("/review", params={"unit": "vận miền"})
    assert queue_ids(by_unit.text) == [eng["id"]] and "khớp bộ lọc" in by_unit.text
    assert queue_ids(signed.get("/review", params={"from": "2024-05-02", "to": "2024-05-02"}).text) == [eng["id"]]
    field = eng["fields"][0]
    assert eng["id"] in queue_ids(signed.get("/review", params={"field": field}).text)
    assert queue_ids(signed.get("/review", params={"unit": "không có đơn vị này"}).text) == []


@pytest.mark.parametrize("params", [{"field": "IT"}, {"from": "15/03/2024"}, {"to": "x" * 5000},
                                    {"page": "-3"}, {"page": "abc"}, {"page": "99999999999999999999"},
                                    {"unit": "%_\\'\""}, {"unit": "\x00"}])
def test_bad_filters_are_dropped_with_a_note_never_an_error(signed, stored, params):
    r = signed.get("/review", params=params)
    assert r.status_code == 200
    if "field" in params or "from" in params or "to" in params:
        assert "Bỏ qua" in r.text


def test_queue_is_paged(signed, stored, monkeypatch):
    from service.workbench import routes
    monkeypatch.setattr(routes, "PAGE_SIZE", 1)  # the copy and the English text always wait
    first, second = signed.get("/review").text, signed.get("/review", params={"page": 2}).text
    assert len(queue_ids(first)) == 1 and "Trang 1/" in first and "Trang sau" in first
    assert not set(queue_ids(first)) & set(queue_ids(second))


# ---- one submission -----------------------------------------------------------------------------

def test_item_page_shows_fields_explanations_and_similar_records(signed, stored):
    copy, original = stored["copy"], stored["original"]
    page = signed.get(f"/review/items/{copy['id']}")
    html = page.text
    assert page.status_code == 200 and copy["title"].split()[0] in html
    assert html.count('name="f"') == len(copy["tags"]["fields"])  # every field, with its probability
    assert '<mark class="hl-f0"' in html  # explanation phrases of the primary field highlighted
    assert f'id="similar-{original["id"]}"' in html and '<mark class="hl-p"' in html  # passages side by side
    assert "Cụm từ chung (Jaccard)" in html and "Độ gần về ý nghĩa (cosine)" in html
    assert "Mô hình: TRÙNG" in html
    assert re.search(rf'name="dup" value="{original["id"]}"[^>]*checked', html)  # suggestion pre-selected


@pytest.mark.parametrize("raw", ["999999", "abc", "0", "-1", "99999999999999999999999", "1.5", "١٢"])
def test_unknown_or_malformed_ids_are_a_404_page(signed, stored, raw):
    r = signed.get(f"/review/items/{raw}")
    assert r.status_code == 404 and "Không tìm thấy" in r.text
    r = signed.post(f"/review/items/{raw}/decision", data={"csrf": csrf_of(signed.get("/review").text)})
    assert r.status_code == 404


# ---- decisions ------------------------------------------------------------------------------------

def test_accepting_the_suggestion_stores_feedback_and_opens_the_next_item(signed, stored):
    before = signed.get("/review").text
    first = queue_ids(before)[0]
    r = decide(signed, first)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/review/next?after={first}")
    page = signed.get(r.headers["location"])
    assert page.status_code == 200 and f"Đã lưu quyết định cho sáng kiến #{first}" in page.text
    assert re.search(r'data-id="(\d+)"', page.text).group(1) != str(first)
    rec = signed.get(f"/v1/initiatives/{first}").json()
    assert rec["reviewed"] and not rec["needs_review"]
    after = signed.get("/review").text
    assert waiting(after) == waiting(before) - 1 and first not in queue_ids(after)
    assert re.search(r'id="decided-today">1<', after)
    exported = signed.get("/v1/feedback/export").text
    assert f'"id": "{first}"' in exported


def test_correcting_fields_sets_the_primary_first(signed, stored, taxonomy):
    item = stored["english"]
    r = decide(signed, item["id"], f=["other", "technology"], primary="technology", dup="", note="Sửa lĩnh vực")
    assert r.status_code == 303
    rec = signed.get(f"/v1/initiatives/{item['id']}").json()
    assert rec["fields"] == ["technology", "other"]
    page = signed.get(f"/review/items/{item['id']}").text
    assert "Nguyễn Thị Lan" in page and "Sửa lĩnh vực" in page  # history shows who and why


def test_marking_a_copy_as_duplicate_and_not_duplicate(signed, stored):
    copy, original = stored["copy"], stored["original"]
    assert decide(signed, copy["id"], dup=str(original["id"])).status_code == 303
    assert signed.get(f"/v1/initiatives/{copy['id']}").json()["duplicate_group"] == original["id"]
    assert decide(signed, copy["id"], dup="none").status_code == 303
    assert signed.get(f"/v1/initiatives/{copy['id']}").json()["duplicate_group"] is None
    assert decide(signed, copy["id"], dup="other", dup_other=f"#{original['id']}").status_code == 303
    assert signed.get(f"/v1/initiatives/{copy['id']}").json()["duplicate_group"] == original["id"]


def test_csrf_token_missing_or_wrong_is_403_and_stores_nothing(signed, stored):
    item = stored["english"]
    page = signed.get(f"/review/items/{item['id']}").text
    for token in (None, "forged", ""):
        form = decision_form(page)
        form.pop("csrf") if token is None else form.update(csrf=token)
        r = signed.post(f"/review/items/{item['id']}/decision", data=form)
        assert r.status_code == 403 and "CSRF" in r.text
    assert signed.get(f"/v1/initiatives/{item['id']}").json()["reviewed"] is False


def test_a_decision_made_meanwhile_by_another_reviewer_is_not_overwritten(signed, stored, client):
    item = stored["english"]
    page = signed.get(f"/review/items/{item['id']}").text  # Lan opens the page...
    other = client.post(f"/v1/initiatives/{item['id']}/review", headers=REVIEW,
                        json={"reviewer": "Trần Văn Minh", "fields": ["administration"]})
    assert other.status_code == 200  # ...Minh decides first, through the API
    r = signed.post(f"/review/items/{item['id']}/decision", data=decision_form(page, f=["technology"],
                                                                               primary="technology"))
    assert r.status_code == 409
    assert "Trần Văn Minh" in r.text and "CHƯA được lưu" in r.text
    assert signed.get(f"/v1/initiatives/{item['id']}").json()["fields"] == ["administration"]
    # the page now carries Minh's decision as seen: sending again is a deliberate change
    again = signed.post(f"/review/items/{item['id']}/decision",
                        data=decision_form(r.text, f=["technology"], primary="technology"), follow_redirects=False)
    assert again.status_code == 303
    assert signed.get(f"/v1/initiatives/{item['id']}").json()["fields"] == ["technology"]


def test_two_workbench_reviewers_on_the_same_item(signed, stored, app_factory):
    item = stored["copy"]
    page_lan = signed.get(f"/review/items/{item['id']}").text
    with app_factory() as minh:
        sign_in(minh, name="Trần Văn Minh")
        assert decide(minh, item["id"], dup="none").status_code == 303
    r = signed.post(f"/review/items/{item['id']}/decision", data=decision_form(page_lan))
    assert r.status_code == 409 and "Trần Văn Minh" in r.text
    assert signed.get(f"/v1/initiatives/{item['id']}").json()["duplicate_group"] is None


@pytest.mark.parametrize("overrides, message", [
    ({"f": []}, "ít nhất một lĩnh vực"),
    ({"f": ["IT", "technology"]}, "không có trong danh mục"),
    ({"dup": "abc"}, "không hợp lệ"),
    ({"dup": "other", "dup_other": ""}, "không hợp lệ"),
    ({"dup": "99999999999999999999999"}, "không hợp lệ"),
    ({"dup": "424242"}, "không có sáng kiến"),
    ({"seen": "x"}, "tải lại trang"),
    ({"seen": "77"}, "không khớp"),
    ({"note": "ý" * 5000}, "tối đa 2.000 ký tự"),
])
def test_bad_decisions_explain_themselves_and_store_nothing(signed, stored, overrides, message):
    item = stored["english"]
    r = decide(signed, item["id"], **overrides)
    assert 400 <= r.status_code < 500 and message in r.text, r.text[-3000:]
    assert "alert error" in r.text
    assert signed.get(f"/v1/initiatives/{item['id']}").json()["reviewed"] is False
    if "note" in overrides:
        assert "ý" * 100 in r.text  # what the reviewer typed is kept


def test_duplicate_of_itself_is_refused(signed, stored):
    item = stored["copy"]
    r = decide(signed, item["id"], dup=str(item["id"]))
    assert r.status_code == 422 and "chính là sáng kiến đang xét" in r.text


@pytest.mark.parametrize("body, headers", [
    (b"\xff\xfe not utf-8", {"content-type": "application/x-www-form-urlencoded"}),
    (b"--x\r\nbroken", {"content-type": "multipart/form-data; boundary=x"}),
    (b'{"f": ["technology"]}', {"content-type": "application/json"}),
    (b"f=technology&f=technology&seen=0&primary=" + b"x" * 100_000, {"content-type": "application/x-www-form-urlencoded"}),
])
def test_malformed_form_data_is_never_a_500(signed, stored, body, headers):
    item = stored["english"]
    r = signed.post(f"/review/items/{item['id']}/decision", content=body, headers=headers)
    assert 400 <= r.status_code < 500


def test_next_skips_without_deciding(signed, stored):
    ids = queue_ids(signed.get("/review").text)
    r = signed.get(f"/review/next?after={ids[0]}", follow_redirects=False)
    assert r.headers["location"].startswith(f"/review/items/{ids[1]}")
    last = signed.get(f"/review/next?after={ids[-1]}", follow_redirects=False)
    assert last.headers["location"].startswith(f"/review/items/{ids[0]}")  # wraps around
    assert signed.get(f"/v1/initiatives/{ids[0]}").json()["reviewed"] is False


def test_when_the_queue_is_empty_the_next_item_is_the_queue(signed, stored):
    for i in queue_ids(signed.get("/review").text):
        assert decide(signed, i).status_code == 303
    page = signed.get("/review/next")
    assert "Không còn sáng kiến nào chờ duyệt" in page.text and waiting(page.text) == 0


def test_static_files_are_served_from_the_package(client):
    assert client.get("/review/static/workbench.js").status_code == 200
    assert "text/css" in client.get("/review/static/workbench.css").headers["content-type"]


# ---- presentation helpers (no app) -------------------------------------------------------------

def test_highlighting_finds_phrases_whatever_the_case_and_spacing():
    from service.workbench.present import highlight_phrases

    segs = highlight_phrases("Ứng dụng  Mã QR để quản lý thiết bị", [("mã QR", "f0", "CNTT"), ("quản lý", "f1", "QL")])
    marked = [(s.text, s.mark) for s in segs if s.mark]
    assert marked == [("Mã QR", "f0"), ("quản lý", "f1")]
    assert "".join(s.text for s in segs) == "Ứng dụng  Mã QR để quản lý thiết bị"


def test_overlapping_spans_never_duplicate_text():
    from service.workbench.present import segments

    segs = segments("abcdefgh", [(1, 4, "p", None), (2, 6, "p", None), (6, 20, "p", None), (-3, 0, "p", None)])
    assert "".join(s.text for s in segs) == "abcdefgh"
    assert [s.text for s in segs if s.mark] == ["bcd", "gh"]


def test_today_starts_at_midnight_in_viet_nam():
    import datetime as dt

    from service.workbench.present import start_of_today_utc

    late_utc = dt.datetime(2025, 3, 1, 18, 30, tzinfo=dt.timezone.utc)  # 01:30 on 2 March in Hà Nội
    assert start_of_today_utc(late_utc) == "2025-03-01T17:00:00+00:00"


def test_evidence_reads_as_plain_vietnamese():
    from service.workbench.present import evidence_lines

    lines = evidence_lines({"exact": False, "jaccard": 0.62, "containment": 0.8, "cosine": 0.93,
                            "same_author": True, "same_unit": False, "length_ratio": 0.9})
    assert "Cụm từ chung (Jaccard): 62 % — nhiều câu chữ chung." in lines
    assert "Độ gần về ý nghĩa (cosine): 0,93 — rất gần nghĩa." in lines
    assert "Cùng tác giả." in lines and "Khác đơn vị (hoặc không ghi đơn vị)." in lines


def test_records_stored_without_explanations_get_them_on_the_page(signed, stored, db_path):
    import sqlite3

    item = stored["original"]
    assert item["tags"]["explanations"]
    with sqlite3.connect(db_path) as con:  # as a bulk import may store them
        con.execute("UPDATE initiatives SET explanations = '{}' WHERE id = ?", (item["id"],))
    page = signed.get(f"/review/items/{item['id']}")
    assert page.status_code == 200 and '<mark class="hl-f0"' in page.text
