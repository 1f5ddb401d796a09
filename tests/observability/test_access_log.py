"""F13: gunicorn's access log never writes a query string (e-mail searches, API keys sent as parameters)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

from retailsite.observability import gunicorn_conf


def test_the_access_log_line_has_the_path_without_its_query_string() -> None:
    config = Config()
    config.set("access_log_format", gunicorn_conf.access_log_format)
    logger = Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/admin/commerce/customer/?q=alice%40example.com&api_key=rsk_secret",
        "PATH_INFO": "/admin/commerce/customer/",
        "QUERY_STRING": "q=alice%40example.com&api_key=rsk_secret",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": "https://shop.example.com/admin/commerce/customer/?q=bob%40example.com",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[])
    request = SimpleNamespace(headers=[])
    atoms = logger.atoms(response, request, environ, dt.timedelta(milliseconds=3))
    line = gunicorn_conf.access_log_format % atoms
    assert "/admin/commerce/customer/" in line
    assert "alice" not in line and "rsk_secret" not in line and "bob" not in line and "?" not in line
