"""docs/api.md's examples run as written against a demo store: the shell block of its "Examples" section is run by
bash, unchanged, with `./manage` pointed at the test database and DEMO_PORT at a live server. `curl` is wrapped only
to fail on an HTTP error status, so every documented call must answer 2xx."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]


def documented_examples() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    section = text[text.index("## Examples") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "docs/api.md has no ```sh block under ## Examples"
    return block.group(1)


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

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATABASE_SET_ROLE": db.get("SET_ROLE") or "",
        "DEMO_PORT": live_server.url.rsplit(":", 1)[1],
    }
    script = 'curl() { command curl --silent --show-error --fail-with-body "$@"; echo; }\n' + documented_examples()
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert answers[0]["store"] == "demo"
    for_customer = next(a for a in answers if "items" in a)  # the first recommendation example: C000017's list
    assert 1 <= len(for_customer["items"]) <= 5
    assert all(item["reason"] and item["product_id"].startswith("P") for item in for_customer["items"])
    assert {"received": 2, "created": 2, "duplicates": 0} in answers
    with zipfile.ZipFile("/tmp/C000017-data.zip") as export:
        assert export.namelist()
