"""Kill a real server mid-stream: every acknowledged intake is stored, no batch is half-stored."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from api_support import INTAKE, INTAKE_KEY, as_payload
from model.artifact import save_artifact

ROOT = Path(__file__).resolve().parents[2]
BATCH = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server_env(tmp_path, trained_classifier, taxonomy, dedup_rule) -> dict[str, str]:
    """Artifacts saved from the session's models, and a database in a temporary folder."""
    save_artifact(trained_classifier, {"version": "test"}, taxonomy.to_dict(), tmp_path / "classifier")
    (tmp_path / "dedup").mkdir()
    (tmp_path / "dedup" / "rule.json").write_text(json.dumps(dedup_rule.to_dict()))
    return {**os.environ, "SANGKIEN_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.db'}",
            "SANGKIEN_CLASSIFIER_DIR": str(tmp_path / "classifier"),
            "SANGKIEN_DEDUP_RULE": str(tmp_path / "dedup" / "rule.json"), "SANGKIEN_INTAKE_KEYS": INTAKE_KEY,
            "SANGKIEN_READ_KEYS": "", "SANGKIEN_REVIEWER_KEYS": ""}


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300  # a bound on waiting, not an assertion on speed
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"server not ready:\n{log.read_text()[-3000:]}")


def _batches(splits) -> list[list[dict]]:
    records = [r for r in splits["train"] + splits["test"] if r.description][: 40 * BATCH]
    return [[as_payload(r, f"crash-{i + j}") for j, r in enumerate(records[i : i + BATCH])]
            for i in range(0, len(records), BATCH)]


def _stream_until_killed(base: str, proc: subprocess.Popen, batches: list[list[dict]]) -> tuple[list, int]:
    """Send batches one after another; kill the server with SIGKILL after the 5th answer."""
    acked, sent = [], 0
    with httpx.Client(base_url=base, timeout=60) as http:
        for batch in batches:
            sent += 1
            try:
                r = http.post("/v1/initiatives", json={"items": batch}, headers=INTAKE)
            except httpx.TransportError:
                break
            assert r.status_code == 201, r.text
            acked.append([x["external_id"] for x in batch])
            if len(acked) == 5:
                threading.Timer(0.05, proc.kill).start()
    return acked, sent


@pytest.mark.slow
def test_acknowledged_intakes_survive_a_sigkill(server_env, splits, tmp_path):
    port, log = _free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    batches = _batches(splits)
    proc = _start(server_env, port, log)
    acked, sent = _stream_until_killed(base, proc, batches)
    proc.wait(timeout=30)
    assert len(acked) >= 5 and sent < len(batches), "the server must die mid-stream"
    proc = _start(server_env, port, log)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            page = http.get("/v1/initiatives", params={"limit": 500}).json()
            stored = {i["external_id"]: i for i in page["items"]}
            assert page["total"] == len(stored) == http.get("/v1/audit").json()["total"]
            for ids in acked:
                assert all(x in stored for x in ids)
            for batch in batches[:sent]:  # all of a batch or none of it
                present = [x["external_id"] in stored for x in batch]
                assert all(present) or not any(present)
            assert all(i["fields"] and i["tags"]["labels"] for i in stored.values())
            assert http.get("/healthz").json()["indexed"] == len(stored)
            for batch in batches[:sent]:  # the intake system retries what it sent: no copies, no conflicts
                assert http.post("/v1/initiatives", json={"items": batch}, headers=INTAKE).status_code in (200, 201)
            assert http.get("/v1/initiatives").json()["total"] == sent * BATCH
    finally:
        proc.kill()
        proc.wait(timeout=30)
