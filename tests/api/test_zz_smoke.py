import pytest
pytestmark = pytest.mark.django_db
from tests.factories import ProductFactory

def test_smoke(api, store_a):
    r = api.get("/api/v1/whoami/"); print(r.status_code, r.json())
    r = api.post("/api/v1/products/", {"product_id": "P1", "name": "Teapot", "category": "Home > Kitchen", "price": "12.50", "tags": ["a", "a", "b"]}); print(r.status_code, r.json())
    r = api.get("/api/v1/products/"); print(r.status_code, r.json())
    r = api.patch("/api/v1/products/P1/", {"price": "9.99", "tenant": 5, "id": 3}); print(r.status_code, r.json())
    r = api.post("/api/v1/customers/", {"customer_id": "C1", "email": "a@b.example", "gender": "female"}); print(r.status_code, r.json())
    r = api.post("/api/v1/orders/", {"order_id": "O1", "customer_id": "C1", "ordered_at": "2024-03-01T10:00:00", "lines": [{"product_id": "P1", "quantity": 2}]}); print(r.status_code, r.json())
    r = api.post("/api/v1/orders/", {"order_id": "O2", "customer_id": "CX", "ordered_at": "2024-03-01T10:00:00", "lines": [{"product_id": "PX", "quantity": 0}]}); print(r.status_code, r.json())
    r = api.post("/api/v1/orders/", {"order_id": "O2", "customer_id": "CX", "ordered_at": "2024-03-01T10:00:00", "lines": [{"product_id": "PX", "quantity": 1}]}); print(r.status_code, r.json())
    r = api.post("/api/v1/events/batch/", {"events": [{"customer_id": "C1", "product_id": "P1", "event_type": "view"}]}, HTTP_IDEMPOTENCY_KEY="abc"); print(r.status_code, r.json())
    r = api.post("/api/v1/events/batch/", {"events": [{"customer_id": "C1", "product_id": "P1", "event_type": "view"}]}, HTTP_IDEMPOTENCY_KEY="abc"); print(r.status_code, r.json())
    r = api.post("/api/v1/products/", "{bad json", content_type="application/json"); print(r.status_code, r.json())
    r = api.get("/api/v1/nothing"); print(r.status_code, r.json())
    r = api.get("/api/v1/products"); print(r.status_code, r.json())
    r = api.delete("/api/v1/products/P1/"); print(r.status_code, r.content)
    r = api.get("/api/v1/products/ZZ/"); print(r.status_code, r.json())
    r = api.put("/api/v1/whoami/"); print(r.status_code, r.json())
    r = api.post("/api/v1/products/", "a=b", content_type="application/x-www-form-urlencoded"); print(r.status_code, r.json())
    from rest_framework.test import APIClient
    r = APIClient().get("/api/v1/products/"); print(r.status_code, r.json(), r.headers.get("WWW-Authenticate"))
    r = APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION="Bearer rsk_nope"); print(r.status_code, r.json())
    r = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json"); print(r.status_code, len(r.content))
    r = APIClient().get("/api/v1/docs/"); print(r.status_code, r.content[:600])
