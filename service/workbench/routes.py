"""Workbench pages and actions under ``/review``.

Reads go through the engine and the store's queue queries; every decision goes through
``Engine.review``, the function behind ``POST /v1/initiatives/{id}/review`` (same validation
via ``ReviewIn``, same feedback row with reviewer and time). Nothing here answers JSON: bad
input gets a Vietnamese page with the reason, never a 500.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from service.engine import Engine
from service.errors import ServiceError, status_of
from service.store import QueueFilter, decided_since, feedback_history, queue_next, review_queue, unit_names
from service.workbench import forms, session as sess
from service.workbench.item import item_context
from service.workbench.present import REASONS, count, local_date, local_time, number, start_of_today_utc

HERE = Path(__file__).parent
PAGE_SIZE = 50
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(number=number, count=count, local_date=local_date)
router = APIRouter(prefix="/review", include_in_schema=False)
_decide_lock = threading.Lock()  # one workbench decision at a time: check-then-write stays atomic
_units_cache: dict[int, tuple[float, list[str]]] = {}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No valid session: the reviewer is sent to the sign-in page."""


class PageError(Exception):
    """A problem the reviewer should read, shown as a page with this HTTP status."""

    def __init__(self, status: int, message: str, title: str = "Không thực hiện được"):
        super().__init__(message)
        self.status, self.message, self.title = status, message, title


# ---- plumbing ---------------------------------------------------------------------------------

def render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def engine_of(request: Request) -> Engine:
    try:
        return request.app.state.service.require()
    except ServiceError as exc:
        raise PageError(status_of(exc), f"Dịch vụ chưa sẵn sàng: {exc.message}", "Đang khởi động") from exc


def reviewer(request: Request) -> sess.Session:
    found = sess.read_session(request, request.app.state.settings)
    if found is None or not found.signed_in:
        raise SignInRequired()
    return found


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _safe_next(raw: object) -> str:
    """Only paths inside the workbench: never an open redirect."""
    if isinstance(raw, str) and raw.startswith("/review") and len(raw) < 2000 \
            and not any(c in raw for c in "\\\r\n") and "//" not in raw:
        return raw
    return "/review"


async def _form(request: Request) -> Any:
    try:
        return await request.form()
    except Exception as exc:  # malformed multipart, bad boundary, client gone: the form is unusable
        raise PageError(400, "Không đọc được dữ liệu biểu mẫu: hãy tải lại trang và gửi lại.") from exc


def _check_csrf(request: Request, who: sess.Session | None, form: Any) -> None:
    if not sess.csrf_ok(who, form.get("csrf")):
        raise PageError(403, "Biểu mẫu thiếu mã bảo vệ (CSRF) hoặc mã đã cũ: hãy tải lại trang rồi thao tác "
                             "lại. Không có gì được lưu.", "Yêu cầu bị từ chối")


def base_ctx(who: sess.Session | None) -> dict[str, Any]:
    return {"who": who, "csrf": who.csrf if who else ""}


# ---- sign-in ----------------------------------------------------------------------------------

def _sign_in_page(request: Request, who: sess.Session, next_url: str, message: str | None = None,
                  status: int = 200, name: str = "") -> HTMLResponse:
    settings = request.app.state.settings
    response = render(request, "signin.html", {**base_ctx(None), "csrf": who.csrf, "next": next_url,
                                               "message": message, "name": name,
                                               "configured": bool(settings.reviewer_keys)}, status)
    sess.write_session(response, request, settings, who)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> Response:
    settings = request.app.state.settings
    who = sess.read_session(request, settings)
    next_url = _safe_next(request.query_params.get("next"))
    if who is not None and who.signed_in:
        return redirect(next_url)
    return _sign_in_page(request, who or sess.new_session(), next_url)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    settings = request.app.state.settings
    form = await _form(request)
    who = sess.read_session(request, settings)
    next_url = _safe_next(form.get("next"))
    name = form.get("name") if isinstance(form.get("name"), str) else ""
    key = form.get("key") if isinstance(form.get("key"), str) else ""
    fresh = sess.new_session()
    if not sess.csrf_ok(who, form.get("csrf")):
        return _sign_in_page(request, fresh, next_url, "Phiên đăng nhập đã hết hạn hoặc thiếu mã bảo vệ (CSRF): "
                                                       "hãy nhập lại.", 403, name[:200])
    if not settings.reviewer_keys:
        return _sign_in_page(request, fresh, next_url, "Chưa cấu hình khóa người duyệt: quản trị viên cần đặt "
                                                       "SANGKIEN_REVIEWER_KEYS rồi khởi động lại dịch vụ.", 403)
    if not key or not sess.check_key(key, settings):
        await asyncio.sleep(0.2)  # slows guessing a little; the keys themselves must be long and random
        return _sign_in_page(request, fresh, next_url, "Khóa người duyệt không đúng: kiểm tra lại khóa được cấp.",
                             401, name[:200])
    name = " ".join(name.split())
    if not name or len(name) > 200:
        return _sign_in_page(request, fresh, next_url, "Hãy nhập họ tên (tối đa 200 ký tự): tên được lưu cùng "
                                                       "mỗi quyết định.", 422, name[:200])
    response = redirect(next_url)
    sess.write_session(response, request, settings, sess.new_session(name, key))
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    who = sess.read_session(request, request.app.state.settings)
    _check_csrf(request, who, await _form(request))
    response = redirect("/review/sign-in")
    sess.clear_session(response)
    return response


# ---- queue ------------------------------------------------------------------------------------

def _units(engine: Engine) -> list[str]:
    """Unit names for the filter's suggestions, refreshed at most once a minute."""
    key = id(engine.store)
    cached = _units_cache.get(key)
    if cached is None or time.monotonic() - cached[0] > 60:
        cached = (time.monotonic(), unit_names(engine.store))
        _units_cache[key] = cached
    return cached[1]


def queue_row(rec: Any, taxonomy: Any) -> dict[str, Any]:
    flagged = [c.other for c in rec.candidates if c.is_duplicate]
    reasons = [REASONS.get(rec.tags.review_reason or "", "")] if rec.needs_review and rec.tags.review_reason else []
    if flagged:
        reasons.append(f"Nghi trùng #{flagged[0]}")
    return {"id": rec.id, "title": rec.title, "unit": rec.unit, "date": rec.submitted_at or rec.created_at,
            "fields": [taxonomy.name(c) if c in taxonomy else c for c in rec.fields],
            "confidence": rec.tags.confidence, "reasons": [r for r in reasons if r]}


@router.get("", response_class=HTMLResponse)
def queue(request: Request) -> Response:
    who = reviewer(request)
    engine = engine_of(request)
    taxonomy = engine.models.taxonomy
    f, notes = forms.parse_filter(request.query_params, taxonomy.codes)
    page = forms.parse_page(request.query_params.get("page"))
    items, total = review_queue(engine.store, f, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    waiting = total if f == QueueFilter() else review_queue(engine.store, QueueFilter(), 0, 0)[1]
    today = start_of_today_utc()
    pages = max(1, -(-total // PAGE_SIZE))
    saved = forms.parse_id(request.query_params.get("saved"))
    return render(request, "queue.html", {
        **base_ctx(who), "items": [queue_row(r, taxonomy) for r in items], "total": total, "waiting": waiting,
        "decided_today": decided_since(engine.store, today),
        "decided_by_me": decided_since(engine.store, today, who.name), "page": page, "pages": pages,
        "filter": f, "filter_qs": forms.filter_query(f), "notes": notes, "saved": saved,
        "fields": [(c, taxonomy.name(c)) for c in taxonomy.codes], "units": _units(engine),
        "page_qs": lambda p: forms.filter_query(f, page=p), "filtered": f != QueueFilter(),
    })


@router.get("/next")
def next_item(request: Request) -> Response:
    """The next record of the (filtered) queue after ``after``; the queue when none is left."""
    reviewer(request)
    engine = engine_of(request)
    f, _ = forms.parse_filter(request.query_params, engine.models.taxonomy.codes)
    saved = forms.parse_id(request.query_params.get("saved"))
    found = queue_next(engine.store, f, forms.parse_id(request.query_params.get("after")))
    if found is None:
        return redirect("/review?" + forms.filter_query(f, saved=saved, empty=1))
    return redirect(f"/review/items/{found}?" + forms.filter_query(f, saved=saved))


# ---- one submission -----------------------------------------------------------------------------

def _record(engine: Engine, raw: str) -> Any:
    initiative_id = forms.parse_id(raw)
    rec = engine.store.get(initiative_id) if initiative_id is not None else None
    if rec is None:
        raise PageError(404, f"Không có sáng kiến mã “{raw[:30]}”: quay lại hàng đợi để chọn sáng kiến khác.",
                        "Không tìm thấy")
    return rec


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item(request: Request, item_id: str) -> Response:
    who = reviewer(request)
    engine = engine_of(request)
    rec = _record(engine, item_id)
    f, notes = forms.parse_filter(request.query_params, engine.models.taxonomy.codes)
    ctx = item_context(engine, rec, feedback_history(engine.store, rec.id), f, None)
    return render(request, "item.html", {**base_ctx(who), **ctx, "notes": notes,
                                         "saved": forms.parse_id(request.query_params.get("saved"))})


@router.post("/items/{item_id}/decision", response_class=HTMLResponse)
async def decide(request: Request, item_id: str) -> Response:
    who = reviewer(request)
    form = await _form(request)
    _check_csrf(request, who, form)
    return await run_in_threadpool(_decide, request, who, form, item_id)


def _decide(request: Request, who: sess.Session, form: Any, item_id: str) -> Response:
    """Validate, check nobody decided since the page was opened, then call ``Engine.review``."""
    engine = engine_of(request)
    rec = _record(engine, item_id)
    f, _ = forms.parse_filter(form, engine.models.taxonomy.codes)
    order = sorted(engine.models.taxonomy.codes, key=lambda c: -rec.tags.probabilities.get(c, 0.0))
    d = forms.parse_decision(form, who.name, order)
    if d.errors or d.review is None:
        return _item_again(request, who, engine, rec, f, d, 422)
    r = d.review
    with _decide_lock:
        history = feedback_history(engine.store, rec.id)
        latest = history[-1] if history else None
        if (latest.id if latest else 0) == d.seen:
            try:
                engine.review(rec.id, r.reviewer, r.fields, r.duplicate_of, r.not_duplicate, r.note)
            except ServiceError as exc:
                d.errors = [_service_message(exc)]
                return _item_again(request, who, engine, engine.store.get(rec.id) or rec, f, d, status_of(exc))
            return redirect("/review/next?" + forms.filter_query(f, after=rec.id, saved=rec.id))
    d.errors = [_conflict_message(latest)]
    return _item_again(request, who, engine, engine.store.get(rec.id) or rec, f, d, 409, keep_seen=False)


def _conflict_message(latest: Any) -> str:
    if latest is None:  # the form names a decision this record never had
        return "Biểu mẫu không khớp với dữ liệu hiện tại: hãy xem lại trang này rồi gửi lại. Chưa có gì được lưu."
    return (f"Sáng kiến này vừa được {latest.reviewer} quyết định lúc {local_time(latest.reviewed_at)}, sau khi "
            "bạn mở trang. Quyết định của bạn CHƯA được lưu. Xem quyết định đó ở mục Lịch sử; nếu vẫn muốn "
            "thay đổi, kiểm tra lại và gửi lại biểu mẫu.")


def _service_message(exc: ServiceError) -> str:
    if exc.code == "invalid_review" and "duplicate_of" in exc.message:
        return ("Mã sáng kiến trùng không hợp lệ: không có sáng kiến đó, hoặc đó chính là sáng kiến đang xét. "
                f"({exc.message})")
    return f"Không lưu được quyết định: {exc.message}"


def _item_again(request: Request, who: sess.Session, engine: Engine, rec: Any, f: QueueFilter,
                d: forms.Decision, status: int, keep_seen: bool = True) -> HTMLResponse:
    """The item page again, with the reviewer's choices kept and the problem on top."""
    history = feedback_history(engine.store, rec.id)
    if not keep_seen:
        d.seen = history[-1].id if history else 0
    ctx = item_context(engine, rec, history, f, d)
    return render(request, "item.html", {**base_ctx(who), **ctx, "notes": [], "saved": None}, status)


# ---- errors and mounting ------------------------------------------------------------------------

async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    target = _here(request) if request.method == "GET" else "/review"
    return redirect("/review/sign-in?next=" + quote(target, safe=""))


async def _page_error(request: Request, exc: PageError) -> Response:
    who = sess.read_session(request, request.app.state.settings)
    return render(request, "error.html", {**base_ctx(who if who and who.signed_in else None),
                                          "title": exc.title, "message": exc.message}, exc.status)


def mount_workbench(app: FastAPI) -> None:
    """Add the workbench pages, their static files and their two error handlers to ``app``."""
    app.include_router(router)
    app.mount("/review/static", StaticFiles(directory=HERE / "static"), name="workbench-static")
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(PageError, _page_error)
