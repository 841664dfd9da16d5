"""Driving wrk (Debian's package): one measurement = one wrk run, read back as numbers.

A generated Lua script makes wrk print one JSON line at the end (median, p95, p99,
requests, errors, bytes) and, when given a list of paths, sends each request to
the next path (``order="seq"``: every path once before any repeats, for cold
pages) or to a random one (``order="random"``: a spread of cached pages).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field

WRK = os.environ.get("WRK", "wrk")
MARKER = "BENCH_JSON "

_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    MARKER, summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

_PATHS = r"""
local counter = 0
local requests_ = {}

function setup(thread)
  THREAD_COUNT = (THREAD_COUNT or 0) + 1
  thread:set("thread_id", THREAD_COUNT - 1)
end

function init(args)
  local threads = tonumber(args[1])
  local n = 0
  -- thread k takes paths k, k + threads, k + 2 * threads, ...: no two threads share a path
  for i = thread_id + 1, #PATHS, threads do
    n = n + 1
    requests_[n] = wrk.format(nil, PATHS[i])
  end
  math.randomseed(1000 + thread_id)
end

function request()
  if ORDER == "random" then
    return requests_[math.random(#requests_)]
  end
  counter = counter + 1
  return requests_[((counter - 1) % #requests_) + 1]
end
"""


def available() -> bool:
    return shutil.which(WRK) is not None


def version() -> str:
    try:
        out = subprocess.run([WRK, "-v"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "not installed"
    first = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""
    match = re.match(r"wrk\s+(\S+)", first)
    return match.group(1) if match else first.strip()


def install_hint() -> str:
    return "wrk is not installed: run `apt-get install -y wrk` as root (Debian/Ubuntu), then `make bench` again."


def ensure_installed(log=print) -> bool:
    """True when wrk is there; as root, installs Debian's package first if it is missing."""
    if available():
        return True
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing; installing Debian's package (apt-get install -y wrk) ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], **quiet)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], **quiet)
    return available()


@dataclass
class Result:
    """One wrk run. Times in milliseconds."""

    label: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    bytes_per_request: float
    errors: dict = field(default_factory=dict)
    connections: int = 1
    threads: int = 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        return asdict(self)


def script_text(paths: list[str] | None = None, order: str = "seq", delay_ms: int = 0) -> str:
    """The Lua script for a run: JSON summary, per-request paths when given, a pause before each request."""
    lines = [f'MARKER = "{MARKER}"']
    if delay_ms:
        lines.append(f"function delay()\n  return {int(delay_ms)}\nend")
    if paths:
        if order not in ("seq", "random"):
            raise ValueError(f"order must be 'seq' or 'random', not {order!r}")
        quoted = ",\n".join(json.dumps(p) for p in paths)  # JSON strings of ASCII paths are valid Lua strings
        lines.append(f'ORDER = "{order}"')
        lines.append("PATHS = {\n" + quoted + "\n}")
        lines.append(_PATHS)
    lines.append(_DONE)
    return "\n".join(lines)


def parse_output(text: str, *, label: str = "", connections: int = 1, threads: int = 1) -> Result:
    """The Result from wrk's output (the JSON line that the script's done() writes)."""
    for line in text.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise RuntimeError(f"wrk printed no result line:\n{text[-2000:]}")
    seconds = data["duration_us"] / 1e6 or 1e-9
    requests = data["requests"]
    return Result(
        label=label,
        requests=requests,
        seconds=seconds,
        rps=requests / seconds,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        bytes_per_request=data["bytes"] / requests if requests else 0.0,
        errors={k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]},
        connections=connections,
        threads=threads,
    )


def run(
    base_url: str,
    *,
    path: str = "/",
    paths: list[str] | None = None,
    order: str = "seq",
    duration: float = 5.0,
    connections: int = 1,
    threads: int | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    delay_ms: int = 0,
    label: str = "",
) -> Result:
    """Load ``base_url + path`` (or ``paths``) for ``duration`` seconds with ``connections`` connections.

    ``delay_ms``: each connection pauses that long before each request (think time)."""
    threads = max(1, min(threads or min(connections, 2), connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-", delete=False) as handle:
        handle.write(script_text(paths, order, delay_ms))
        script = handle.name
    command = [
        WRK,
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        f"{max(1, round(timeout))}s",
        "-s",
        script,
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(base_url.rstrip("/") + path)
    if paths:
        command += ["--", str(threads)]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout + 30)
    finally:
        os.unlink(script)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    return parse_output(out.stdout, label=label, connections=connections, threads=threads)
