"""Where a request's time goes: the benchmark's endpoints replayed in-process, one at a time.

Runs inside the benchmark process after the load runs (Django set up with the same production
settings, database role and Redis as the server), through Django's test client, so the whole
middleware stack runs but no network or worker scheduling is involved. For each endpoint:
queries per request, the time in SQL versus the rest, the queries by shape, and for the
endpoints under test a cProfile of the project's own functions.
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
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_NUMBERS = re.compile(r"\b\d+(\.\d+)?\b")
_STRINGS = re.compile(r"'[^']*'")
_IN_LISTS = re.compile(r"IN \((%s|\$?\d+|, )+\)")


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
    hot_functions: str = ""
    hot_internals: str = ""


def _shape(sql: str) -> str:
    text = _IN_LISTS.sub("IN (...)", sql)
    text = _STRINGS.sub("'?'", text)
    text = _NUMBERS.sub("?", text)
    return " ".join(text.split())


def _hot_functions(profiler: cProfile.Profile, requests: int, limit: int = 18) -> tuple[str, str]:
    """CPU per request: the project's functions by cumulative time, and every function by its own time."""
    stats = pstats.Stats(profiler)
    project, internals = [], []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        path = Path(filename)
        in_project = path.is_absolute() and REPO in path.parents and ".venv" not in path.parts
        if in_project and "bench" not in path.relative_to(REPO).parts[:1]:
            project.append((cumulative, calls, f"{path.relative_to(REPO)}:{line}({name})"))
        where = f"{path.relative_to(REPO)}:{line}" if in_project else (
            "/".join(path.parts[-2:]) + f":{line}" if path.is_absolute() else filename)
        internals.append((own, calls, f"{where}({name})"))

    def table(rows: list[tuple[float, int, str]], heading: str) -> str:
        rows.sort(reverse=True)
        out = io.StringIO()
        out.write(f"{heading:>10}  {'calls/request':>13}  function\n")
        for seconds, calls, where in rows[:limit]:
            out.write(f"{1000 * seconds / requests:>10.2f}  {calls / requests:>13.1f}  {where}\n")
        return out.getvalue()

    return table(project, "CPU ms cum"), table(internals, "CPU ms own")


def profile_endpoint(*, key: str, label: str, paths: list[str], cookies: list[str], authorization: str,
                     requests: int, seed: int, with_cprofile: bool) -> EndpointProfile:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(seed)
    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    # Warm up: connections, caches, template loading (not measured).
    for _ in range(min(20, requests)):
        if cookies:
            client.cookies[settings.SESSION_COOKIE_NAME] = rng.choice(cookies).split("=", 1)[1]
        client.get(rng.choice(paths), **headers)
    # CPU time, not wall time: on a shared machine, waiting for PostgreSQL or for a core is not the code's cost.
    profiler = cProfile.Profile(time.process_time) if with_cprofile else None
    durations: list[float] = []
    cpu_seconds = 0.0
    shapes: dict[str, QueryShape] = defaultdict(lambda: QueryShape(""))
    total_queries = 0
    sql_seconds = 0.0
    for _ in range(requests):
        if cookies:
            client.cookies[settings.SESSION_COOKIE_NAME] = rng.choice(cookies).split("=", 1)[1]
        path = rng.choice(paths)
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            response = client.get(path, **headers)
            if profiler is not None:
                profiler.disable()
            durations.append(time.perf_counter() - started)
            cpu_seconds += time.process_time() - cpu_started
        if response.status_code != 200:
            raise RuntimeError(f"{label}: {path} answered {response.status_code}: {response.content[:500]!r}")
        for query in captured.captured_queries:
            shape = _shape(query["sql"])
            entry = shapes[shape]
            entry.sql = shape
            entry.count += 1
            entry.seconds += float(query["time"])
            sql_seconds += float(query["time"])
        total_queries += len(captured.captured_queries)
    durations.sort()
    hot_functions, hot_internals = _hot_functions(profiler, requests) if profiler is not None else ("", "")
    return EndpointProfile(
        key=key, label=label, requests=requests, median_ms=1000 * statistics.median(durations),
        p90_ms=1000 * durations[int(0.9 * (len(durations) - 1))], cpu_ms_per_request=1000 * cpu_seconds / requests,
        queries_per_request=total_queries / requests, sql_ms_per_request=1000 * sql_seconds / requests,
        shapes=sorted(shapes.values(), key=lambda s: -s.seconds),
        hot_functions=hot_functions, hot_internals=hot_internals,
    )


def render_profile(profile: EndpointProfile, *, shapes: int = 12, sql_width: int = 150) -> list[str]:
    lines = [
        f"**{profile.label}** — {profile.requests} requests in-process: {profile.cpu_ms_per_request:.1f} ms of "
        f"Python CPU per request; {profile.queries_per_request:.1f} queries per request, "
        f"{profile.sql_ms_per_request:.1f} ms waiting for them; wall time median {profile.median_ms:.1f} ms, "
        f"p90 {profile.p90_ms:.1f} ms.",
        "",
    ]
    if profile.shapes:
        lines += ["| queries/request | SQL ms/request | query (literals elided) |", "|---:|---:|---|"]
        for shape in profile.shapes[:shapes]:
            sql = shape.sql if len(shape.sql) <= sql_width else shape.sql[:sql_width] + " …"
            sql = sql.replace("|", "\\|")
            lines.append(f"| {shape.count / profile.requests:.1f} | {1000 * shape.seconds / profile.requests:.2f} | "
                         f"`{sql}` |")
        lines.append("")
    if profile.hot_functions:
        lines += ["CPU profile (cProfile with a CPU-time clock, so waiting is left out; the profiler's own overhead "
                  "inflates the figures): the project's functions by cumulative CPU, then all functions by their own "
                  "CPU.", "", "```", profile.hot_functions.rstrip(), "", profile.hot_internals.rstrip(), "```", ""]
    return lines
