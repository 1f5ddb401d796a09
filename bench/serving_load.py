"""Load generation for the serving benchmark: a wrk Lua script, running wrk, reading its results.

Every request picks a random path and a random cookie from lists written to files (so each
request asks for a different customer, or comes from a different signed-in shopper). The
script counts responses per HTTP status and prints one JSON line at the end, so errors are
exact: any status other than 2xx is an error, and so is every socket error.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

RESULT_MARKER = "WRK_RESULT "

# wrk runs one Lua state per thread; `setup` keeps the threads so `done` can add up their counts.
LUA_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  if path == nil or path == "" then return lines end
  for line in io.lines(path) do
    if line ~= "" then table.insert(lines, line) end
  end
  return lines
end

local counter = 0

function init(args)
  paths = read_lines(args[1])
  cookies = read_lines(args[2])
  authorization = args[3] or ""
  statuses = {}
  seed = (tonumber(args[4]) or 0) + math.floor(os.clock() * 1000000)
  math.randomseed(os.time() * 1000 + seed)
  bodies = read_lines(args[5])
  method = args[6] or "GET"
  if method == "" then method = "GET" end
  headers = {}
  if authorization ~= "" then headers["Authorization"] = authorization end
  if #bodies > 0 then headers["Content-Type"] = "application/json" end
  prefix = tostring(seed) .. "-" .. tostring(math.random(1000000000))
end

function request()
  local path = paths[math.random(#paths)]
  if #cookies > 0 then headers["Cookie"] = cookies[math.random(#cookies)] end
  local body = nil
  if #bodies > 0 then
    -- every request's events get ids never sent before, so each one is stored (no dedupe short cut)
    counter = counter + 1
    body = bodies[math.random(#bodies)]:gsub("__UNIQUE__", prefix .. "-" .. tostring(counter))
  end
  return wrk.format(method, path, headers, body)
end

function response(status, response_headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local thread_counts = thread:get("statuses")
    for status, n in pairs(thread_counts) do
      local key = tostring(status)
      counts[key] = (counts[key] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, string.format('"%s": %d', status, n)) end
  io.write(string.format(
    '__MARKER__{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "mean_us": %.1f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"timeouts": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, table.concat(parts, ", ")))
end
""".replace("__MARKER__", RESULT_MARKER)


@dataclass(frozen=True)
class Target:
    """One endpoint under load: what it is, and the requests wrk sends to it."""

    key: str
    label: str
    paths: list[str]
    cookies: list[str] = field(default_factory=list)
    authorization: str = ""
    method: str = "GET"
    # JSON bodies, one per line, for POST targets; "__UNIQUE__" in them becomes a per-request unique string.
    bodies: list[str] = field(default_factory=list)
    # Events per request for the event endpoints (their figure is events per second).
    events_per_request: int = 0
    # Customers' lists per request for the recommendations batch (reported as lists per second besides the verdict).
    lists_per_request: int = 0


@dataclass
class LoadResult:
    target: Target
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    socket_errors: int
    server_cpu_ms_per_request: float | None = None
    python_cpu_ms_per_request: float | None = None
    postgres_cpu_ms_per_request: float | None = None

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def wrk_path() -> str | None:
    return shutil.which("wrk")


def write_script(directory: Path) -> Path:
    path = directory / "random_request.lua"
    path.write_text(LUA_SCRIPT)
    return path


def write_target_files(directory: Path, target: Target) -> tuple[Path, Path | None, Path | None]:
    paths_file = directory / f"{target.key}.paths"
    paths_file.write_text("\n".join(target.paths) + "\n")
    cookies_file = bodies_file = None
    if target.cookies:
        cookies_file = directory / f"{target.key}.cookies"
        cookies_file.write_text("\n".join(target.cookies) + "\n")
    if target.bodies:
        bodies_file = directory / f"{target.key}.bodies"
        bodies_file.write_text("\n".join(target.bodies) + "\n")
    return paths_file, cookies_file, bodies_file


def run_wrk(
    *,
    base_url: str,
    target: Target,
    script: Path,
    directory: Path,
    seconds: int,
    connections: int,
    threads: int,
    timeout_seconds: int = 30,
) -> LoadResult:
    """Drive `target` for `seconds` with `connections` open connections; latencies as wrk measures them.

    A request still unanswered after `timeout_seconds` (gunicorn's own worker timeout) is a socket error.
    """
    paths_file, cookies_file, bodies_file = write_target_files(directory, target)
    command = [
        wrk_path() or "wrk",
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{timeout_seconds}s",
        "-s",
        str(script),
        base_url + target.paths[0],
        "--",
        str(paths_file),
        str(cookies_file or ""),
        target.authorization,
        str(random.randrange(1 << 30)),
        str(bodies_file or ""),
        target.method,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith(RESULT_MARKER)), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line[len(RESULT_MARKER) :])
    return LoadResult(
        target=target,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        statuses={int(k): v for k, v in data["statuses"].items()},
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
    )
