"""Helpers for the workbench tests: sign in through the real form, read tokens from pages."""

from __future__ import annotations

import re

from api_support import INTAKE, REVIEW_KEY

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_SEEN = re.compile(r'name="seen" value="([0-9]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def seen_of(html: str) -> str:
    found = _SEEN.search(html)
    assert found, "no version token on the page"
    return found.group(1)


def sign_in(client, name: str = "Nguyễn Thị Lan", key: str = REVIEW_KEY):
    page = client.get("/review/sign-in")
    assert page.status_code == 200, page.text
    return client.post("/review/sign-in", data={"csrf": csrf_of(page.text), "name": name, "key": key,
                                                "next": "/review"}, follow_redirects=False)


def store(client, payloads: list[dict]) -> list[dict]:
    r = client.post("/v1/initiatives", json={"items": payloads}, headers=INTAKE)
    assert r.status_code == 201, r.text
    return r.json()["items"]


def decision_form(html: str, **overrides) -> dict:
    """The decision form as the page pre-fills it (the model's suggestion), with overrides."""
    checked = re.findall(r'name="f" value="([^"]+)"[^>]*checked', html)
    primary = re.search(r'name="primary" value="([^"]+)"[^>]*checked', html)
    dup = re.search(r'name="dup" value="([^"]*)"[^>]*checked', html)
    form = {"csrf": csrf_of(html), "seen": seen_of(html), "f": checked,
            "primary": primary.group(1) if primary else "", "dup": dup.group(1) if dup else "", "note": ""}
    return {**form, **overrides}
