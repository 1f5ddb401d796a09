"""The demo exactly as `make demo` sets it up, driven by a shopper in headless Chromium.

`retailsite/tools/demo.py` runs as `make demo` runs it (embedded PostgreSQL, roles, migrate as the owner, seed,
train and serve as the application role), only with a smaller store (DEMO_SEED_ARGS) and a free port. A new shopper
signs up, browses a category, views three products, buys the third, and the signed-in home page then explains a
list with "Because you …"; the privacy centre's export downloads a zip and erasure deletes the account. Afterwards
the demo's audit log holds the writes and `verify_audit_log` finds the chain intact; stopping the demo stops the
server, the background training and the embedded PostgreSQL.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from retailsite.tools import embedded_db
from tests.storefront.test_browser import CHROMIUM, chromium_page

ROOT = Path(__file__).resolve().parents[2]
SMALL_STORE = "--customers 300 --products 80 --days 120"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DEMO_PORT=str(port), DEMO_SEED_ARGS=SMALL_STORE)
    log_path = ROOT / "test-artifacts" / "demo.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "retailsite.tools.demo"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the demo exited early:\n{log_path.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(base + "/s/demo/", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"the demo did not serve within 300 s:\n{log_path.read_text()[-3000:]}")
        try:
            yield base, process, log_path
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # Ctrl-C
                process.wait(timeout=60)


def test_a_new_shopper_uses_the_demo_store_end_to_end(demo) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = demo
    expect = sync_api.expect
    with chromium_page() as page:
        page.goto(base + "/s/demo/")
        # Sign up.
        page.get_by_role("link", name="Create account").click()
        page.get_by_label("Name", exact=True).fill("Ada Demo")
        page.get_by_label("E-mail", exact=True).fill("ada.demo@example.com")
        page.get_by_label("Password", exact=True).fill("violet harbour lantern 7")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("navigation", name="Your account")).to_contain_text("Privacy")

        # Browse a category, view three products from it.
        page.get_by_role("navigation", name="Categories").get_by_role("link").first.click()
        category_url = page.url
        viewed = []
        for index in range(3):
            page.goto(category_url)
            page.locator(".cards .card a.card-link").nth(index).click()
            viewed.append(page.get_by_role("heading", level=1).inner_text())
        assert len(set(viewed)) == 3

        # Add the third to the cart and check out.
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
        expect(page.locator("table.lines")).to_contain_text(viewed[-1])
        page.get_by_role("link", name="Go to checkout").click()
        page.get_by_role("button", name="Place order").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")

        # The signed-in home page explains a list by what this shopper did.
        page.get_by_role("link", name="Demo Store", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Ada Demo")
        reasons = page.locator(".card .why").all_inner_texts()
        assert any(re.search(f"Because you (viewed|bought) ({'|'.join(map(re.escape, viewed))})", r) for r in reasons)

        # Privacy centre: the export downloads a zip; erasure deletes the account.
        page.get_by_role("navigation", name="Your account").get_by_role("link", name="Privacy").click()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download my data").click()
        with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
            exported = " ".join(archive.read(name).decode(errors="replace") for name in archive.namelist())
        assert "ada.demo@example.com" in exported
        page.get_by_role("link", name="Delete my account").click()
        page.get_by_role("button", name="Yes, delete my account").click()
        expect(page.get_by_text("Your account and the data held about you were deleted.")).to_be_visible()
        expect(page.get_by_role("link", name="Create account")).to_be_visible()  # signed out
        assert page.failed_responses == []

    # The erased shopper cannot sign in any more.
    with chromium_page() as page:
        page.goto(base + "/s/demo/account/sign-in/")
        page.get_by_label("E-mail", exact=True).fill("ada.demo@example.com")
        page.get_by_label("Password", exact=True).fill("violet harbour lantern 7")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Demo Store")  # refused, still here
        expect(page.get_by_role("link", name="Create account")).to_be_visible()


def test_the_demo_audit_log_records_the_writes_and_verifies(demo) -> None:  # type: ignore[no-untyped-def]
    port = embedded_db.running_port()
    assert port is not None
    with psycopg.connect(embedded_db.url(port)) as connection:
        actions = dict(
            connection.execute(
                "SELECT e.action, count(*) FROM privacy_auditlogentry e JOIN tenancy_tenant t ON t.id = e.tenant_id "
                "WHERE t.slug = 'demo' GROUP BY 1"
            ).fetchall()
        )
    # The seed's and the shopper's writes, the export and the erasure.
    assert actions.get("create", 0) > 0 and actions.get("update", 0) > 0, actions
    assert actions.get("export", 0) >= 1 and actions.get("erase", 0) >= 1, actions
    env = {**os.environ, "DATABASE_URL": embedded_db.url(port, role="retail_app"), "DJANGO_DEBUG": "True"}
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_audit_log", "--tenant", "demo"],
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "chain intact" in result.stdout


def test_ctrl_c_stops_the_server_the_background_training_and_the_database(demo) -> None:  # type: ignore[no-untyped-def]
    base, process, log_path = demo
    started_database = "started for this demo" in log_path.read_text()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/s/demo/", timeout=3)
    leftovers = subprocess.run(
        ["pgrep", "-f", f"manage.py (runserver 127.0.0.1:{base.rsplit(':', 1)[1]}|train --tenant demo)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert leftovers == ""
    if started_database:
        assert embedded_db.running_port() is None
