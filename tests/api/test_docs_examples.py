"""docs/api.md's examples run as written against a demo store: every ```sh block of the sections from "Examples"
on (examples, experiments, incremental sync, uploads, browser integration) is run by bash, unchanged, in the
document's order, with `./manage` pointed at the test database and DEMO_PORT at a live server; then what each
section tells the reader they will see is checked. `curl` is wrapped only to fail on an HTTP error status, so
every documented call must answer 2xx. (The webhook receiver's Python block: tests/webhooks/test_docs_example.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from experiments.demo import DEMO_EXPERIMENT_NAME
from retailsite.commerce.models import Event, Order, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant

ROOT = Path(__file__).resolve().parents[2]
# In the order they appear in docs/api.md; each block is self-contained (its own key) but later ones see what
# earlier ones changed, as a reader going through the page would.
RUN = ("Examples", "Experiments", "Incremental sync", "Uploads", "Browser integration")
NOT_RUN = {"Authentication": "shows the `apikey` command's options, with a made-up key prefix to revoke"}
CURL = 'curl() { command curl --silent --show-error --fail-with-body "$@"; echo; }\n'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("curl") is None or shutil.which("jq") is None, reason="needs curl and jq"),
]


def sh_blocks() -> dict[str, str]:
    """The ```sh blocks of every `## ` section of docs/api.md, joined per section, by heading."""
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = {}
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        found = re.findall(r"```sh\n(.*?)```", body, re.S)
        if found:
            blocks[heading] = "\n".join(found)
    return blocks


def documented_examples(section: str = "Examples") -> str:
    (block,) = [block for heading, block in sh_blocks().items() if heading.startswith(section)]
    return block


def answers(output: str) -> list[Any]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_every_shell_example_is_run_or_says_why_not() -> None:
    for heading in sh_blocks():
        assert any(heading.startswith(name) for name in (*RUN, *NOT_RUN)), f"docs/api.md: {heading!r} is not run"


def test_the_examples_use_the_demo_ids_and_cover_every_recommendation_endpoint() -> None:
    examples = documented_examples()
    for path in ("customers/C000017/", "batch/", "products/P00004/similar/", "products/P00004/bought-together/"):
        assert f"recommendations/{path}" in examples, path
    assert "recommendations/trending/" in examples and "recommendations/rerank/" in examples
    assert "C-17" not in examples


@pytest.mark.django_db(transaction=True)
def test_every_documented_example_runs_verbatim_against_the_demo_store(live_server) -> None:  # type: ignore[no-untyped-def]
    quiet = {"stdout": StringIO(), "stderr": StringIO()}
    call_command(
        "seed_demo",
        "--tenant",
        "demo",
        "--customers",
        "200",
        "--products",
        "60",
        "--days",
        "90",
        "--no-progress",
        **quiet,
    )
    call_command("train", "--tenant", "demo", "--only", "recommendations", **quiet)
    demo = Tenant.objects.get(slug="demo")

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATABASE_SET_ROLE": db.get("SET_ROLE") or "",
        "DEMO_PORT": live_server.url.rsplit(":", 1)[1],
    }
    out = {}
    for section in RUN:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", CURL + documented_examples(section)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, f"{section}: " + result.stdout[-3000:] + result.stderr[-3000:]
        out[section] = result.stdout

    # Examples: the store, C000017's list with reasons, the batch of events, the export.
    seen = answers(out["Examples"])
    assert seen[0]["store"] == "demo"
    for_customer = next(a for a in seen if "items" in a)  # the first recommendation example: C000017's list
    assert 1 <= len(for_customer["items"]) <= 5
    assert all(item["reason"] and item["product_id"].startswith("P") for item in for_customer["items"])
    assert {"received": 2, "created": 2, "duplicates": 0} in seen
    with zipfile.ZipFile("/tmp/C000017-data.zip") as export:
        assert export.namelist()

    # Experiments: the demo's running experiment and its results; stop; create and start another; promote an arm.
    listing, results, stopped, created, promoted = answers(out["Experiments"])
    (running,) = listing["results"]
    assert (running["name"], running["status"]) == (DEMO_EXPERIMENT_NAME, "running")
    assert [arm["key"] for arm in running["arms"]] == ["control", "diverse"]
    assert running["planned_per_arm"] == 60529  # 5% -> 5.5% at alpha 0.05, power 0.8: the size docs/api.md states
    assert (results["experiment"], results["status"]) == (running["id"], "running")
    assert results["test"]["method"].startswith("mSPRT") and results["test"]["planned_per_arm"] == 60529
    assert [arm["key"] for arm in results["arms"]] == ["control", "diverse"]
    assert all(arm["exposed"] > 0 and len(arm["conversion_ci"]) == 2 for arm in results["arms"])
    assert {"lift", "p_value", "significant"} <= set(results["arms"][1])
    assert (stopped["id"], stopped["status"]) == (running["id"], "stopped")
    assert (created["name"], created["status"]) == ("Diversity 1 vs 3", "running")
    assert (promoted["id"], promoted["status"], promoted["winner"]) == (created["id"], "stopped", "narrow")
    demo.refresh_from_db()
    assert demo.setting("max_per_category") == 1

    # Incremental sync: a first run to the end, then a change and a deletion since the cursor, then two deletions
    # (one an erasure) since a time, none with personal data.
    pages = [a for a in answers(out["Incremental sync"]) if set(a) == {"next", "cursor", "results"}]
    first_run = [p for p in pages if isinstance(p["results"], int)]
    assert first_run[-1]["next"] is None and all(p["next"] for p in first_run[:-1])
    with tenant_context(demo):
        # Every product listed once: those of the demo and of the sections before (the uploads section adds 2 later).
        assert sum(p["results"] for p in first_run) == Product.objects.exclude(external_id__startswith="MUG-").count()
    products, customers = (p["results"] for p in pages if isinstance(p["results"], list))
    assert [(e["product_id"], e.get("price"), e.get("deleted", False)) for e in products] == [
        ("P00002", "9.99", False),
        ("KETTLE-9", None, True),
    ]
    assert set(products[1]) == {"product_id", "deleted", "deleted_at"}
    deleted = [e for e in customers if e.get("deleted")]
    assert [e["customer_id"] for e in deleted] == ["C000019", "C000018"]
    assert all(set(e) == {"customer_id", "deleted", "deleted_at"} for e in deleted)
    anonymized = [e for e in customers if not e.get("deleted")]
    assert [e["customer_id"][:7] for e in anonymized] == ["erased-"] and not anonymized[0]["email"]
    assert "C000018" not in json.dumps(anonymized)

    # Uploads: queued, then succeeded with the importer's summary; a bad file fails with file:line and writes nothing.
    queued, succeeded, queued_bad, failed = answers(out["Uploads"])
    assert (queued["status"], queued["files"]) == ("queued", {"products": "products.csv", "stock": "stock.csv"})
    assert (succeeded["id"], succeeded["status"], succeeded["errors"]) == (queued["id"], "succeeded", [])
    assert [line.split(" rows read")[0] for line in succeeded["summary"]] == ["products: 2", "stock: 2"]
    assert all(", 2 created, " in line for line in succeeded["summary"])
    assert queued_bad["status"] == "queued"
    assert (failed["status"], failed["error_total"]) == ("failed", 1)
    assert failed["errors"][0].startswith("orders.csv:2: ordered_at: ")
    with tenant_context(demo):
        assert not Order.objects.filter(external_id="O-9").exists()

    # Browser: CORS for the key's origin, the visitor's list, and the click attributed to it.
    assert re.search(r"(?im)^access-control-allow-origin: http://127\.0\.0\.1:8000\r?$", out["Browser integration"])
    widget_list, event = answers(out["Browser integration"])
    assert widget_list["recommendation_id"].startswith("v") and widget_list["items"]
    assert event == {"created": 1}
    with tenant_context(demo):
        click = Event.objects.select_related("product").get(recommendation_id=widget_list["recommendation_id"])
    assert (click.session_id, click.product.external_id) == ("w-demo-visitor-1", widget_list["items"][0]["product_id"])
