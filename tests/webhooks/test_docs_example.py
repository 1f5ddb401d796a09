"""docs/api.md's webhook receiver runs as written against real deliveries (a receiver on this machine), and the
events it documents carry the `data` fields its table names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from experiments.services import ArmSpec, experiment_create, experiment_mark_significant
from recommendations.models import ModelVersion
from recommendations.services import model_version_activate
from retailsite.commerce.importers.service import import_store_data
from retailsite.tenancy.context import tenant_context
from tests.factories import ModelVersionFactory, TenantFactory
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _webhooks_section() -> str:
    text = DOCS.read_text()
    start = text.index("\n## Webhooks")
    return text[start : text.index("\n## ", start + 1)]


def documented_receiver() -> dict:
    (code,) = re.findall(r"```python\n(.*?)```", _webhooks_section(), re.S)
    namespace: dict = {}
    exec(compile(code, "docs/api.md (Webhooks)", "exec"), namespace)  # our own documentation, as a reader would run it
    return namespace


def documented_data_fields() -> dict[str, set[str]]:
    rows = re.findall(r"^\| `([a-z_.]+)` \| [^|]+ \| (.+) \|$", _webhooks_section(), re.M)
    return {event: set(re.findall(r"`([a-z_0-9]+)`", data)) for event, data in rows}


def test_the_documented_receiver_accepts_real_deliveries_and_refuses_a_forged_one(
    receiver, django_capture_on_commit_callbacks, tmp_path, capsys
) -> None:
    store = TenantFactory(slug="alpha")
    documented = documented_data_fields()
    assert set(documented) == {
        "model_version.activated",
        "forecast_run.finished",
        "reorder_plan.ready",
        "import.finished",
        "experiment.significant",
    }
    with tenant_context(store):
        endpoint = webhook_endpoint_create(url=receiver.url, events=[])  # every event
        (tmp_path / "products.csv").write_text("product_id,name\nP1,Kettle\n")
        with django_capture_on_commit_callbacks(execute=True):
            import_store_data(tenant=store, files={"products": tmp_path / "products.csv"})
        with django_capture_on_commit_callbacks(execute=True):
            trained = ModelVersionFactory(tenant=store, algorithm="hybrid", status=ModelVersion.Status.TRAINING)
            model_version_activate(version=trained, reason="docs")
        with django_capture_on_commit_callbacks(execute=True):
            experiment_mark_significant(
                experiment=experiment_create(name="e", arms=[ArmSpec("a", 50, True), ArmSpec("b", 50)])
            )

    receiver_code = documented_receiver()
    receiver_code["SECRET"] = str(endpoint.secret)
    handle_delivery = receiver_code["handle_delivery"]
    seen = {}
    for headers, body in receiver.received:
        assert handle_delivery(body, headers) == 204
        event = receiver_code["Webhook"](str(endpoint.secret)).verify(body, headers)
        seen[event["type"]] = event["data"]
    assert set(seen) == {"import.finished", "model_version.activated", "experiment.significant"}
    for event_type, data in seen.items():
        assert set(data) == documented[event_type], event_type
    assert "imported: products: 1 rows read, 1 created" in capsys.readouterr().out

    headers, body = receiver.received[0]
    assert handle_delivery(body.replace(b"Kettle", b"Kettl3").replace(b"1 created", b"9 created"), headers) == 400
    assert handle_delivery(body, {**headers, "webhook-signature": "v1,AAAA"}) == 400
