"""Where a request's time goes: the benchmark's endpoints replayed in-process, one at a time.

Runs inside the benchmark process after the load runs (Django set up with the same settings,
database role and Redis as the server), through Django's test client, so the whole middleware
stack runs but no network or worker scheduling is involved. For each endpoint, a plain pass
measures the Python CPU per request and the queries (count, shape, time waiting for them);
for the endpoints under test a second pass runs under cProfile with a CPU-time clock, so that
waiting for PostgreSQL or for a core on a shared machine does not count as the code's cost.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_NUMBERS = re.compile(r"\b\d+(\.\d+)?\b")
_STRINGS = re.compile(r"'[^']*'")
_IN_LISTS = re.compile(r"IN \((%s|\$?\d+|, )+\)")

# Own CPU time grouped by where the code lives (first match wins).
AREAS: tuple[tuple[str, str], ...] = (
    ("/django/db/", "Django ORM: building and compiling queries, making rows"),
    ("/psycopg/", "psycopg: sending queries, reading results (jsonb decoding included)"),
    ("/django/template/", "Django templates: rendering"),
    ("/django/urls/", "Django URL reversing and resolving"),
    ("/rest_framework/", "Django REST framework"),
    ("/redis/", "redis client"),
    ("/cryptography/", "cryptography (personal-data decryption)"),
    ("/json/", "json"),
    ("/django/", "Django: other (middleware, sessions, requests)"),
)


@dataclass
class QueryShape:
    sql: str
    count: int = 0
    seconds: float = 0.0


@dataclass
class EndpointProfile:
    key: str
    label: str
    requests: int
    median_ms: float
    p90_ms: float
    cpu_ms_per_request: float
    queries_per_request: float
    sql_ms_per_request: float
    shapes: list[QueryShape] = field(default_factory=list)
    cpu_by_area: list[tuple[str, float]] = field(default_factory=list)
    hot_functions: str = ""
    hot_internals: str = ""
    postgres_cpu_ms_per_request: float = 0.0


def _shape(sql: str) -> str:
    text = _IN_LISTS.sub("IN (...)", sql)
    text = _STRINGS.sub("'?'", text)
    text = _NUMBERS.sub("?", text)
    return " ".join(text.split())


def _area(filename: str) -> str:
    path = Path(filename)
    if path.is_absolute() and REPO in path.parents and ".venv" not in path.parts:
        return "project code (own time)"
    for marker, area in AREAS:
        if marker in filename:
            return area
    return "Python built-ins and other libraries"


def _analyse(profiler: cProfile.Profile, requests: int, limit: int = 16) -> tuple[list[tuple[str, float]], str, str]:
    """CPU per request by area, the project's functions by cumulative CPU, every function by its own CPU."""
    stats = pstats.Stats(profiler)
    project: list[tuple[float, float, str]] = []
    internals: list[tuple[float, float, str]] = []
    areas: dict[str, float] = defaultdict(float)
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():
        path = Path(filename)
        in_project = path.is_absolute() and REPO in path.parents and ".venv" not in path.parts
        areas[_area(filename)] += own
        if in_project and path.relative_to(REPO).parts[0] != "bench":
            project.append((cumulative, calls, f"{path.relative_to(REPO)}:{line}({name})"))
        where = (
            f"{path.relative_to(REPO)}:{line}"
            if in_project
            else ("/".join(path.parts[-3:]) + f":{line}" if path.is_absolute() else filename)
        )
        internals.append((own, calls, f"{where}({name})"))

    def table(rows: list[tuple[float, float, str]], heading: str) -> str:
        rows.sort(reverse=True)
        out = io.StringIO()
        out.write(f"{heading:>10}  {'calls/request':>13}  function\n")
        for seconds, calls, where in rows[:limit]:
            out.write(f"{1000 * seconds / requests:>10.2f}  {calls / requests:>13.1f}  {where}\n")
        return out.getvalue()

    by_area = sorted(((area, 1000 * seconds / requests) for area, seconds in areas.items()), key=lambda a: -a[1])
    return by_area, table(project, "CPU ms cum"), table(internals, "CPU ms own")


@dataclass
class Requests:
    """What one endpoint is sent: a random path (and, for POST, a random JSON body) per request."""

    paths: list[str]
    cookies: list[str]
    headers: dict[str, str]
    method: str = "GET"
    bodies: list[str] = field(default_factory=list)  # "__UNIQUE__" in a body becomes a per-request unique string
    sent: int = 0


def _replay(
    client,
    wanted: Requests,
    rng: random.Random,
    requests: int,
    label: str,
    around: Callable[[Callable[[], object]], object],
) -> None:
    from django.conf import settings

    for _ in range(requests):
        if wanted.cookies:
            client.cookies[settings.SESSION_COOKIE_NAME] = rng.choice(wanted.cookies).split("=", 1)[1]
        path = rng.choice(wanted.paths)
        if wanted.method == "GET":
            response = around(lambda path=path: client.get(path, **wanted.headers))
        else:
            wanted.sent += 1
            body = rng.choice(wanted.bodies).replace("__UNIQUE__", f"profile-{wanted.sent}")
            response = around(
                lambda path=path, body=body: client.generic(
                    wanted.method, path, body, content_type="application/json", **wanted.headers
                )
            )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{label}: {wanted.method} {path} answered {response.status_code}")


def profile_endpoint(
    *,
    key: str,
    label: str,
    paths: list[str],
    cookies: list[str],
    authorization: str,
    requests: int,
    seed: int,
    with_cprofile: bool,
    method: str = "GET",
    bodies: list[str] | None = None,
) -> EndpointProfile:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(seed)
    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    wanted = Requests(paths, cookies, headers, method, bodies or [])
    _replay(client, wanted, rng, min(20, requests), label, lambda call: call())  # warm-up

    durations: list[float] = []
    cpu = [0.0]
    backend_before = _backend_cpu_seconds(connection)
    shapes: dict[str, QueryShape] = {}

    def measured(call: Callable[[], object]) -> object:
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = call()
            cpu[0] += time.process_time() - cpu_started
            durations.append(time.perf_counter() - started)
        for query in captured.captured_queries:
            shape = _shape(query["sql"])
            entry = shapes.setdefault(shape, QueryShape(shape))
            entry.count += 1
            entry.seconds += float(query["time"])
        return response

    _replay(client, wanted, rng, requests, label, measured)
    backend_after = _backend_cpu_seconds(connection)
    postgres_ms = (
        1000 * (backend_after - backend_before) / requests
        if backend_before is not None and backend_after is not None
        else 0.0
    )
    by_area: list[tuple[str, float]] = []
    hot_functions = hot_internals = ""
    if with_cprofile:
        profiler = cProfile.Profile(time.process_time)

        def profiled(call: Callable[[], object]) -> object:
            profiler.enable()
            try:
                return call()
            finally:
                profiler.disable()

        _replay(client, wanted, rng, requests, label, profiled)
        by_area, hot_functions, hot_internals = _analyse(profiler, requests)
    durations.sort()
    return EndpointProfile(
        key=key,
        label=label,
        requests=requests,
        median_ms=1000 * statistics.median(durations),
        p90_ms=1000 * durations[int(0.9 * (len(durations) - 1))],
        cpu_ms_per_request=1000 * cpu[0] / requests,
        queries_per_request=sum(s.count for s in shapes.values()) / requests,
        sql_ms_per_request=1000 * sum(s.seconds for s in shapes.values()) / requests,
        shapes=sorted(shapes.values(), key=lambda s: (-s.count, -s.seconds)),
        cpu_by_area=by_area,
        hot_functions=hot_functions,
        hot_internals=hot_internals,
        postgres_cpu_ms_per_request=postgres_ms,
    )


def _backend_cpu_seconds(connection) -> float | None:
    """CPU seconds so far of the PostgreSQL backend serving this process (same machine only)."""
    import os

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def render_profile(profile: EndpointProfile, *, shapes: int = 14, sql_width: int = 160) -> list[str]:
    lines = [
        f"**{profile.label}** — {profile.requests} requests: **{profile.cpu_ms_per_request:.1f} ms of Python CPU** "
        f"and **{profile.queries_per_request:.1f} queries** per request ({profile.sql_ms_per_request:.1f} ms waiting "
        f"for them); wall time median {profile.median_ms:.1f} ms, p90 {profile.p90_ms:.1f} ms.",
        "",
    ]
    if profile.shapes:
        lines += ["| queries/request | ms/request | query (literals elided) |", "|---:|---:|---|"]
        for shape in profile.shapes[:shapes]:
            sql = shape.sql if len(shape.sql) <= sql_width else shape.sql[:sql_width] + " …"
            sql = sql.replace("|", "\\|")
            lines.append(
                f"| {shape.count / profile.requests:.1f} | {1000 * shape.seconds / profile.requests:.2f} | `{sql}` |"
            )
        if len(profile.shapes) > shapes:
            rest = profile.shapes[shapes:]
            lines.append(
                f"| {sum(s.count for s in rest) / profile.requests:.1f} | "
                f"{1000 * sum(s.seconds for s in rest) / profile.requests:.2f} | "
                f"{len(rest)} other query shapes |"
            )
        lines.append("")
    if profile.cpu_by_area:
        total = sum(ms for _, ms in profile.cpu_by_area) or 1.0
        lines += [
            "CPU profile (cProfile with a CPU-time clock, so waiting is left out; the profiler's overhead "
            "inflates every figure about equally). Own CPU by area:",
            "",
            "| area | CPU ms/request (profiled) | share |",
            "|---|---:|---:|",
        ]
        lines += [f"| {area} | {ms:.1f} | {ms / total:.0%} |" for area, ms in profile.cpu_by_area]
        lines += [
            "",
            "The project's functions by cumulative CPU, then the hottest functions by their own CPU:",
            "",
            "```",
            profile.hot_functions.rstrip(),
            "",
            profile.hot_internals.rstrip(),
            "```",
            "",
        ]
    return lines
