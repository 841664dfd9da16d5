"""What the numbers were measured on: CPU, cores, memory, OS and the versions that matter."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_quota() -> str:
    """The cgroup v2 CPU limit, e.g. "2.0 CPUs", or "" when there is none."""
    raw = _read("/sys/fs/cgroup/cpu.max").split()
    if len(raw) == 2 and raw[0] != "max":
        return f"{int(raw[0]) / int(raw[1]):.1f} CPUs (cgroup)"
    return ""


def memory_total_mib() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


def os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def _package_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "not installed"


def redis_version(url: str | None) -> str:
    if not url:
        return ""
    try:
        import redis

        return str(redis.Redis.from_url(url, socket_timeout=1).info("server").get("redis_version", "?"))
    except Exception:
        return "not reachable"


def cpu_busy(seconds: float = 1.0) -> float:
    """The fraction of all CPUs busy (not idle or waiting for I/O) over ``seconds``, from /proc/stat."""
    import time

    try:
        all0, busy0 = _stat_ticks()
        time.sleep(seconds)
        all1, busy1 = _stat_ticks()
    except (IndexError, ValueError):
        return 0.0
    return (busy1 - busy0) / max(1, all1 - all0)


def _stat_ticks() -> tuple[int, int]:
    """(all ticks, busy ticks) of the whole machine, from /proc/stat."""
    fields = [int(v) for v in _read("/proc/stat").splitlines()[0].split()[1:9]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields), sum(fields) - idle


def _process_ticks(pid: int) -> tuple[int, int]:
    """(parent pid, CPU ticks of the process and of its children it has waited for)."""
    stat = _read(f"/proc/{pid}/stat")
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 15:
        return -1, 0
    return int(fields[1]), sum(int(v) for v in fields[11:15])  # utime stime cutime cstime


def our_ticks() -> int:
    """CPU ticks used by this process and every process it started (wrk, gunicorn, the sandboxes)."""
    table: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid, ticks = _process_ticks(int(entry.name))
            if ppid >= 0:
                table[int(entry.name)] = (ppid, ticks)
    ours, todo, total = set(), [os.getpid()], 0
    while todo:
        pid = todo.pop()
        if pid in ours or pid not in table:
            continue
        ours.add(pid)
        total += table[pid][1]
        todo.extend(child for child, (ppid, _t) in table.items() if ppid == pid)
    return total


class OtherLoad:
    """Measures how busy programs that are not ours kept the CPUs during a ``with`` block (0 … 1)."""

    def __enter__(self) -> OtherLoad:
        self.fraction = 0.0
        try:
            self._all, self._busy = _stat_ticks()
            self._ours = our_ticks()
        except (OSError, ValueError, IndexError):
            self._all = None
        return self

    def __exit__(self, *exc) -> None:
        if self._all is None:
            return
        try:
            all_, busy = _stat_ticks()
            ours = our_ticks()
        except (OSError, ValueError, IndexError):
            return
        elapsed = all_ - self._all
        if elapsed > 0:
            self.fraction = max(0.0, min(1.0, ((busy - self._busy) - (ours - self._ours)) / elapsed))


def describe(*, wrk_version: str = "", redis_url: str | None = None) -> dict[str, str]:
    """An ordered description of this machine for the report."""
    logical = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    cores = f"{usable} usable" + (f" of {logical}" if logical != usable else "")
    quota = cpu_quota()
    if quota:
        cores += f", limited to {quota}"
    try:
        load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "?"
    facts = {
        "CPU": cpu_model(),
        "Cores": cores,
        "Memory": f"{memory_total_mib() / 1024:.1f} GiB",
        "OS": f"{os_name()}, Linux {platform.release()}" if sys.platform.startswith("linux") else platform.platform(),
        "Python": platform.python_version(),
        "Django": _package_version("Django"),
        "gunicorn": _package_version("gunicorn"),
        "requests": _package_version("requests"),
        "wrk": wrk_version or "?",
        "Load average before the run (1/5/15 min)": load,
    }
    version = redis_version(redis_url)
    if version:
        facts["Redis server"] = version
    return facts


def git_revision(root: Path) -> str:
    """The commit measured, with "+ local changes" when the work tree differs (read-only git calls)."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", "--no-optional-locks", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return ""
    return commit + (" + local changes" if git("status", "--porcelain", "--untracked-files=no") else "")
