"""The team's set-up (deploy/team.py) under load: nginx terminating TLS in front of two hosts (gunicorn
masters on 127.0.0.2 and 127.0.0.3) sharing a PostgreSQL and a Redis of the test's own, the sandbox as Pleo.

A host killed, a rolling deploy and a restart in place, each while clients load the desk: not one request
may fail. Every client opens a connection per request: a browser sends a request again when the server
closed its kept-alive connection just then, this client would not, and what is measured here is the
server side (a refused or reset connection, an error page), not that client-side race. Load loops are
bounded in requests and in time; all traffic stays on loopback.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from deploy.team import Host, Nginx, Team, children, running
from exportjobs.sandbox import SandboxServer, SandboxState, seed
from tests.helpers import ROOT, SANDBOX_TOKEN, OwnPostgres, OwnRedis, collect_static, need, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

PASSWORD = "team-test-" + secrets.token_urlsafe(12)
HOT = [seed.generated_uuid(i) for i in range(10)]  # cached before the load: no call to Pleo during it
PATHS = ["/healthz", *[f"/jobs/{job}/" for job in HOT]]
HANG_GUARD = 120.0  # seconds: a load or a step that takes longer than this has hung


def free_port_on(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class Hit:
    path: str
    status: int  # 0: no answer (refused, reset, timed out)
    request_id: str
    error: str = ""


@dataclass
class Load:
    """``threads`` clients asking for PATHS in turn (signed in) at ``base`` until stopped or ``seconds`` have
    passed, at most ``limit`` requests."""

    base: str
    cookies: dict[str, str]
    verify: str | bool
    headers: dict[str, str] = field(default_factory=dict)
    threads: int = 6
    seconds: float = HANG_GUARD
    limit: int = 20000
    hits: list[Hit] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        deadline = time.monotonic() + min(self.seconds, HANG_GUARD)
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())

        def client(offset: int) -> None:
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace `verify`
            index = offset
            while not self.stopping.is_set() and time.monotonic() < deadline:
                with self.lock:
                    if len(self.hits) >= self.limit:
                        return
                path = PATHS[index % len(PATHS)]
                index += 1
                headers = {**self.headers, "Cookie": cookie, "Connection": "close"}
                try:
                    response = session.get(
                        self.base + path, headers=headers, verify=self.verify, timeout=30, allow_redirects=False
                    )
                    hit = Hit(path, response.status_code, response.headers.get("X-Request-ID", ""))
                    if response.status_code != 200:
                        hit.error = response.text[:300]
                except requests.RequestException as exc:
                    hit = Hit(path, 0, "", repr(exc)[:300])
                with self.lock:
                    self.hits.append(hit)

        self.workers = [threading.Thread(target=client, args=(n,)) for n in range(self.threads)]
        for worker in self.workers:
            worker.start()
        return self

    def count(self) -> int:
        with self.lock:
            return len(self.hits)

    def wait_for_hits(self, count: int) -> None:
        wait_for(lambda: self.count() >= count, what=f"{count} requests of load", seconds=HANG_GUARD)

    def finish(self) -> list[Hit]:
        """The hits, once every client has stopped (at its time or its limit)."""
        for worker in self.workers:
            worker.join(HANG_GUARD)
        assert not any(worker.is_alive() for worker in self.workers), "a load client hung"
        return list(self.hits)

    def stop(self) -> list[Hit]:
        self.stopping.set()
        return self.finish()


def failed(hits: list[Hit]) -> list[Hit]:
    return [hit for hit in hits if hit.status != 200]


def upstreams(team: Team, hits: list[Hit]) -> list[str]:
    """For each of ``hits`` that nginx logged: the hosts it tried ("a:port, b:port" when it retried)."""
    ids = {hit.request_id for hit in hits if hit.request_id}
    found = []
    for line in team.nginx.access_log.read_text().splitlines():
        match = re.search(r"id=(\w+) upstream=(.*) upstream_status=", line)
        if match and match.group(1) in ids:
            found.append(match.group(2))
    return found


@dataclass
class Desk:
    team: Team
    env: dict[str, str]
    sandbox: SandboxServer
    cookies: dict[str, str]

    @property
    def host_header(self) -> str:
        return self.team.nginx.listen  # 127.0.0.1:<https port>, as a browser sends it

    def direct(self, host: Host, path: str) -> requests.Response:
        """A request to one host, as nginx sends it (Host, X-Forwarded-Proto), with the session's cookies."""
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        headers = {"Host": self.host_header, "X-Forwarded-Proto": "https", "Cookie": cookie}
        return requests.get(host.url + path, headers=headers, timeout=30, allow_redirects=False)

    def through_nginx(self, path: str) -> requests.Response:
        session = requests.Session()
        session.trust_env = False
        session.cookies.update(self.cookies)
        return session.get(self.team.url + path, verify=str(self.team.certificate), timeout=30, allow_redirects=False)

    def load(self, base: str | None = None, *, seconds: float = HANG_GUARD) -> Load:
        """Load through nginx, or straight at one host (``base``) with the headers nginx would add."""
        if base is None:
            return Load(self.team.url, self.cookies, str(self.team.certificate), seconds=seconds).start()
        headers = {"Host": self.host_header, "X-Forwarded-Proto": "https"}
        return Load(base, self.cookies, False, headers, seconds=seconds).start()


def answers(two_hosts: Desk, path: str) -> bool:
    try:
        return two_hosts.through_nginx(path).status_code == 200
    except requests.RequestException:
        return False


def sign_in_at(host: Host, host_header: str) -> dict[str, str]:
    """Sign in on one host directly (as nginx would pass it on); returns the session's cookies."""
    origin = f"https://{host_header}"
    headers = {"Host": host_header, "X-Forwarded-Proto": "https"}
    form = requests.get(host.url + "/accounts/login/", headers=headers, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = requests.post(
        host.url + "/accounts/login/",
        data={"username": "fiona", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1), "next": "/"},
        headers={**headers, "Referer": origin + "/accounts/login/", "Cookie": f"csrftoken={form.cookies['csrftoken']}"},
        timeout=30,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    return {"sessionid": answer.cookies["sessionid"]}


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory):
    need(
        shutil.which("nginx") is not None or os.path.exists("/usr/sbin/nginx"),
        "nginx not installed (apt-get install nginx)",
    )
    need(shutil.which("openssl") is not None, "openssl not installed")
    need((ROOT / ".venv" / "bin" / "gunicorn").exists(), "no .venv/bin/gunicorn (make test creates it)")
    directory = tmp_path_factory.mktemp("team")
    postgres = OwnPostgres().init()
    postgres.start()
    redis = OwnRedis(directory).start()
    sandbox = SandboxServer(token=SANDBOX_TOKEN, state=SandboxState(generated=len(HOT))).start()
    hosts = [
        Host(name, address, free_port_on(address), directory / "hosts" / name / "var")
        for name, address in (("a", "127.0.0.2"), ("b", "127.0.0.3"))
    ]
    nginx = Nginx(
        directory / "nginx",
        f"127.0.0.1:{free_port_on('127.0.0.1')}",
        f"127.0.0.1:{free_port_on('127.0.0.1')}",
        "127.0.0.1",
    )
    team = Team(directory, hosts, nginx, release=ROOT)
    env = team.settings(
        {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "CACHE_", "DATABASE_", "LOCAL_"))},
            "READ_DOT_ENV": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),  # the same on both hosts: either reads the other's sessions
            "DATABASE_URL": postgres.url,
            "CACHE_URL": redis.url,
            "PLEO_API_BASE_URL": sandbox.url,
            "PLEO_API_TOKEN": SANDBOX_TOKEN,
            "PLEO_API_TIMEOUT": "2",
            "LOG_LEVEL": "INFO",
        }
    )
    collect_static()
    try:
        team.start(env)
        team.manage(
            ROOT,
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import Group, User; "
            f"u = User.objects.create_user('fiona', password='{PASSWORD}'); "
            "u.groups.add(Group.objects.get(name='Finance'))",
        )
        cookies = sign_in_at(hosts[0], nginx.listen)
        two_hosts = Desk(team, env, sandbox, cookies)
        wait_for(lambda: answers(two_hosts, "/healthz"), what="nginx in front of the hosts", seconds=30)
        for path in PATHS:  # every job cached (Redis) before any load
            assert two_hosts.through_nginx(path).status_code == 200
        yield two_hosts
    finally:
        team.stop()
        sandbox.stop()
        redis.stop()
        postgres.remove()


def test_a_host_killed_under_load_drops_no_request_and_its_sessions_live_on(two_hosts):
    team, a, b = two_hosts.team, two_hosts.team.hosts[0], two_hosts.team.hosts[1]
    killed = a.master()
    assert killed is not None
    load = two_hosts.load(seconds=30)
    try:
        load.wait_for_hits(200)
        before_kill = load.count()
        a.stop(graceful=False)  # SIGKILL to the master and its workers at once, as a host that dies
    finally:
        hits = load.finish()  # the rest of the 30 s
    assert not running(killed)
    assert len(hits) - before_kill >= 200, len(hits)  # the load went on after the kill
    assert failed(hits) == [], failed(hits)[:5]
    tried = upstreams(team, hits)
    retried = [hosts for hosts in tried if "," in hosts]
    assert retried, "nginx never had to try the other host: the kill did not hit the load"
    assert all(hosts.endswith(f"{b.address}:{b.port}") for hosts in retried), retried[:5]

    # The session made on host a is read by host b (same database, same SECRET_KEY).
    answer = two_hosts.direct(b, f"/jobs/{HOT[0]}/")
    assert answer.status_code == 200, answer.headers.get("Location")
    assert HOT[0] in answer.text
    assert two_hosts.through_nginx("/healthz").status_code == 200

    a.start(ROOT, two_hosts.env, host_header=two_hosts.host_header)  # back for the next tests
    assert two_hosts.direct(a, f"/jobs/{HOT[1]}/").status_code == 200


def test_a_rolling_deploy_under_load_drops_no_request_and_needs_no_retry(two_hosts):
    team = two_hosts.team
    before = {host.name: host.master() for host in team.hosts}
    errors_before = team.nginx.error_log.read_text()
    load = two_hosts.load()
    steps: list[str] = []
    try:
        load.wait_for_hits(100)
        team.rolling_deploy(ROOT, say=steps.append)
        during = load.count()
        load.wait_for_hits(during + 100)  # and the load goes on on both hosts after it
    finally:
        hits = load.stop()
    after = {host.name: host.master() for host in team.hosts}
    assert all(after[name] not in (None, before[name]) for name in before), (before, after)  # both restarted
    assert [step.split(":")[0] for step in steps if step.startswith("host")] == ["host a"] * 3 + ["host b"] * 3
    assert len(hits) >= 200
    assert failed(hits) == [], failed(hits)[:5]
    # Each host was out of rotation before it stopped: nginx never met a refusing host, so it never retried.
    tried = upstreams(team, hits)
    assert len(tried) == len(hits)
    assert [hosts for hosts in tried if "," in hosts] == []
    assert {hosts for hosts in tried} == {f"{host.address}:{host.port}" for host in team.hosts}
    assert "connect() failed" not in team.nginx.error_log.read_text()[len(errors_before) :]


def test_a_restart_in_place_under_load_drops_no_request(two_hosts):
    b = two_hosts.team.hosts[1]
    old = b.master()
    assert old is not None
    old_workers = children(old)
    load = two_hosts.load(b.url)  # straight at host b: no nginx to retry anything
    try:
        load.wait_for_hits(100)
        new = b.restart_in_place()
        during = load.count()
        load.wait_for_hits(during + 100)
    finally:
        hits = load.stop()
    assert new != old
    assert not running(old)
    assert not [pid for pid in old_workers if running(pid)]
    assert len(children(new)) == b.workers
    assert failed(hits) == [], failed(hits)[:5]
    assert len(hits) >= 200


def test_pleos_errors_take_no_host_out_of_rotation(two_hosts):
    """The desk's 502 and 503 are Pleo's trouble: nginx passes them on and keeps both hosts in rotation."""
    unavailable, refused = seed.job_uuid("fault:503"), seed.job_uuid("fault:401")
    answers = [two_hosts.through_nginx(f"/jobs/{job}/?n={n}") for n in range(8) for job in (unavailable, refused)]
    assert {answer.status_code for answer in answers} == {502, 503}
    assert all("X-Request-ID" in answer.headers for answer in answers)  # the desk's pages, not nginx's
    healthy = [two_hosts.through_nginx(path) for path in ["/healthz", f"/jobs/{HOT[0]}/"] * 4]
    assert [answer.status_code for answer in healthy] == [200] * 8
    tried = upstreams(two_hosts.team, [Hit("", 200, answer.headers["X-Request-ID"]) for answer in healthy])
    assert {hosts for hosts in tried} == {f"{host.address}:{host.port}" for host in two_hosts.team.hosts}


def test_the_nginx_template_is_what_the_readme_shows():
    readme = (ROOT / "README.md").read_text()
    template = (ROOT / "deploy" / "nginx" / "export-job-desk.conf").read_text()
    assert template.strip() in readme
