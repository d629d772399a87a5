"""End to end in a real headless Chromium (Debian's chromium + chromium-driver, via Selenium):
a real uvicorn server on 127.0.0.1 with a temporary database, intake through the API, then a
reviewer signs in, corrects one item's fields with the keyboard and marks a copy as duplicate.

Skips, saying why, where Chromium or its driver is missing (`make test` installs them where it
can). With SANGKIEN_WORKBENCH_SCREENSHOTS=DIR it also saves the README's screenshots there.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_support import INTAKE, REVIEW_KEY, as_payload, make_settings
from service.app import create_app
from service.store import Store, feedback_history

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                       reason="Chromium not installed: `apt-get install chromium chromium-driver` (Debian) "
                              "to run the browser test; `make test` does it when run as root"),
]
REVIEWER = "Nguyễn Thị Lan"
ENGLISH = {"title": "Improving warehouse picking with handheld barcode scanners",
           "description": "The logistics team scans every pallet and the stock list updates itself.",
           "unit": "Kho vận miền Bắc", "author": "John Smith", "submitted_at": "2024-05-02"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(models, db_path) -> Iterator[str]:
    """uvicorn serving the app (with the session's fitted models) in a thread."""
    import uvicorn

    port = _free_port()
    app = create_app(make_settings(db_path), models=models)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--lang=vi", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    service = Service(executable_path=DRIVER, env={**os.environ, "LANGUAGE": "vi", "LANG": "vi_VN.UTF-8"})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _keys(driver, *keys: str, shift: bool = False) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    chain = ActionChains(driver)
    if shift:
        chain = chain.key_down(Keys.SHIFT)
    for k in keys:
        chain = chain.send_keys(k)
    if shift:
        chain = chain.key_up(Keys.SHIFT)
    chain.perform()


def _wait_for(driver, condition, what: str, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d), message=what)


def _waiting(driver) -> int:
    return int(driver.find_element("id", "counts").get_attribute("data-waiting"))


def _screenshot(driver, name: str) -> None:
    folder = os.environ.get("SANGKIEN_WORKBENCH_SCREENSHOTS")
    if not folder:
        return
    height, chrome = driver.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]")
    driver.set_window_size(1400, min(max(height, 800), 2600) + chrome)
    Path(folder).mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(Path(folder) / name))
    driver.set_window_size(1400, 1000)


def test_reviewer_works_the_queue_with_the_keyboard(server, browser, db_path, splits, reordered_copy):
    original, copy = reordered_copy
    others = [r for r in splits["test"] if r.id != original.id][4:12]
    payloads = [as_payload(original), ENGLISH, *[as_payload(r) for r in others], as_payload(copy)]
    with httpx.Client(base_url=server, timeout=60) as api:
        r = api.post("/v1/initiatives", json={"items": payloads}, headers=INTAKE)
        assert r.status_code == 201, r.text
        items = r.json()["items"]
    orig_id, eng_id, copy_id = items[0]["id"], items[1]["id"], items[-1]["id"]
    assert any(d["id"] == orig_id and d["is_duplicate"] for d in items[-1]["duplicates"])

    # no session: the queue sends to the sign-in page
    browser.get(f"{server}/review")
    assert "/review/sign-in" in browser.current_url
    browser.find_element("name", "name").send_keys(REVIEWER)
    browser.find_element("name", "key").send_keys(REVIEW_KEY)
    browser.find_element("css selector", "#sign-in button[type=submit]").click()
    _wait_for(browser, lambda d: d.find_elements("id", "queue"), "the queue after signing in")
    before = _waiting(browser)
    rows = [r.get_attribute("data-id") for r in browser.find_elements("css selector", "#queue tbody tr")]
    assert str(eng_id) in rows and str(copy_id) in rows
    _screenshot(browser, "workbench-queue.png")

    # open the English record from the queue with the keyboard: J down to it, Enter
    _keys(browser, *["j"] * rows.index(str(eng_id)))
    _keys(browser, "\ue007")  # Enter
    _wait_for(browser, lambda d: f"/review/items/{eng_id}" in d.current_url, "the English record's page")

    # correct its fields: only "technology", as primary (Shift + its key), untick the others
    boxes = {b.get_attribute("value"): b for b in browser.find_elements("css selector", "input[name=f]")}
    key = boxes["technology"].get_attribute("data-key")
    _keys(browser, key, shift=True)
    for code, box in boxes.items():
        if code != "technology" and box.is_selected():
            _keys(browser, box.get_attribute("data-key"))
    assert [c for c, b in boxes.items() if b.is_selected()] == ["technology"]
    assert browser.find_element("id", "p-technology").is_selected()
    _keys(browser, "a")
    _wait_for(browser, lambda d: "saved=" in d.current_url or "Đã lưu" in d.page_source, "the next item")
    assert f"/review/items/{eng_id}" not in browser.current_url  # the next item opened
    assert f"Đã lưu quyết định cho sáng kiến #{eng_id}" in browser.page_source

    # the copy: D picks the most similar record (the original), A saves
    browser.get(f"{server}/review/items/{copy_id}")
    _wait_for(browser, lambda d: d.find_elements("id", "decision"), "the copy's page")
    assert browser.find_elements("css selector", f"#similar-{orig_id} mark.hl-p")  # shared passages marked
    _screenshot(browser, "workbench-item.png")
    _keys(browser, "k")
    assert browser.find_element("id", "dup-none").is_selected()
    _keys(browser, "d")
    chosen = browser.find_element("css selector", "input[name=dup]:checked").get_attribute("value")
    assert chosen == str(orig_id)
    _keys(browser, "a")
    _wait_for(browser, lambda d: f"/review/items/{copy_id}" not in d.current_url, "the page after the copy")

    browser.get(f"{server}/review")
    assert _waiting(browser) == before - 2
    assert int(browser.find_element("id", "counts").get_attribute("data-decided-today")) == 2

    with httpx.Client(base_url=server, timeout=60) as api:
        eng = api.get(f"/v1/initiatives/{eng_id}").json()
        dup = api.get(f"/v1/initiatives/{copy_id}").json()
        exported = api.get("/v1/feedback/export").text
    assert eng["reviewed"] and eng["fields"] == ["technology"]
    assert dup["reviewed"] and dup["duplicate_group"] == orig_id
    assert f'"id": "{eng_id}"' in exported  # feeds `sangkien train --feedback`
    store = Store(f"sqlite:///{db_path}")
    try:
        for initiative_id in (eng_id, copy_id):
            (fb,) = feedback_history(store, initiative_id)
            assert fb.reviewer == REVIEWER and fb.reviewed_at
        assert feedback_history(store, copy_id)[0].duplicate_of == orig_id
    finally:
        store.close()
