"""The load generator of bench/http_load.py: signed-in players over HTTP, open loop.

A separate process (`python bench/_http_support.py worker SEED`), driven like
bench/_live_support.py's generator through JSON lines on its stdin and stdout (its
WorkerClient). It needs no Django: aiohttp with keep-alive, one client session per
player's visit, the player's cookies kept by hand (the servers run with DEBUG=0, so
their cookies are marked Secure, which a cookie jar would not send over plain HTTP).

Open loop: visits (one player taking a practice paper, or the daily quiz) arrive as a
Poisson process whose rate is set in requests a second (the visit rate is that over
the requests a visit makes), whatever the server's answers take; inside a visit each
request waits for the one before and a think time, as a player does. Ops:

  {"op": "setup", ...}        players, servers, blueprints, think time, answer mode
  {"op": "probe"}             whether `<page>answers/` and /livez exist (status codes)
  {"op": "rate", "rate": r}   the visits' arrival rate from now on, in requests/s
  {"op": "collect"}           the samples since the last collect, and the counts
  {"op": "drain"}             rate 0, and wait for the visits under way to end
  {"op": "phase", "endpoint": e, "rate": r, "duration": s}
                              one endpoint alone at a fixed rate (server CPU per request)
  {"op": "logins", "count": n, "spread": s}
                              n sign-ins through allauth's form, spread over s seconds
  {"op": "exit"}

A sample is [endpoint, status, sent_ms, latency_ms]: status is the HTTP status or a
word ("timeout", "error") when no answer came; sent_ms is time.time() in ms, the
clock the orchestrator marks its phases with.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import re
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._live_support import WorkerClient  # noqa: E402

INPUT = re.compile(r'<input type="(radio|checkbox)" name="item-(\d+)" value="([^"]*)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TIMEOUT_S = 60


class HttpWorkerClient(WorkerClient):
    """bench/_live_support.py's driver, starting this module's generator."""

    script = Path(__file__).resolve()


def parse_items(html: str) -> list[tuple[int, str, list[str]]]:
    """The paper page's questions: (item id, type, option values) from its form."""
    found: dict[int, tuple[str, list[str]]] = {}
    for kind, item, value in INPUT.findall(html):
        entry = found.setdefault(int(item), (kind, []))
        entry[1].append(value)
    items = []
    for item, (kind, values) in found.items():
        if kind == "checkbox":
            items.append((item, "multiple", values))
        elif set(values) == {"true", "false"}:
            items.append((item, "true_false", values))
        else:
            items.append((item, "single", values))
    return items


def choose(rng: random.Random, qtype: str, values: list[str]) -> Any:
    """A player's answer in the JSON shape of docs/scoring.md."""
    if qtype == "multiple":
        return sorted(rng.sample(values, rng.randint(1, min(2, len(values)))))
    if qtype == "true_false":
        return rng.choice(values) == "true"
    return rng.choice(values)


def form_fields(answer: Any, item: int) -> list[tuple[str, str]]:
    name = f"item-{item}"
    if isinstance(answer, bool):
        return [(name, "true" if answer else "false")]
    if isinstance(answer, list):
        return [(name, value) for value in answer]
    return [(name, answer)]


class Visit:
    """One player's browser for one visit: a client session and the cookies."""

    def __init__(self, gen: Generator, user: dict) -> None:
        import aiohttp

        self.gen = gen
        self.base = user["base"]
        self.cookies: dict[str, str] = {}
        if user.get("session"):
            self.cookies = {"sessionid": user["session"], "csrftoken": user["csrf"]}
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
            connector=aiohttp.TCPConnector(limit=2),
        )

    async def close(self) -> None:
        await self.http.close()

    @property
    def csrf(self) -> str:
        return self.cookies.get("csrftoken", "")

    async def request(
        self, endpoint: str, method: str, url: str, **kw: Any
    ) -> tuple[int | str, str, dict]:
        """(status, body, headers); the sample recorded, the cookies kept."""
        headers = kw.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST" and self.csrf:
            headers.setdefault("X-CSRFToken", self.csrf)
        sent = time.time() * 1000
        started = time.perf_counter()
        key = id(headers)
        self.gen.in_flight[key] = sent
        try:
            async with self.http.request(
                method, self.base + url, headers=headers, allow_redirects=False, **kw
            ) as response:
                body = await response.text()
                status: int | str = response.status
                for name, morsel in SimpleCookie(
                    "\n".join(response.headers.getall("Set-Cookie", []))
                ).items():
                    if morsel.value and morsel["max-age"] != "0":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
                answer_headers = dict(response.headers)
        except TimeoutError:
            status, body, answer_headers = "timeout", "", {}
        except Exception as failed:
            status, body, answer_headers = f"error:{type(failed).__name__}", "", {}
        del self.gen.in_flight[key]
        self.gen.samples.append([endpoint, status, sent, (time.perf_counter() - started) * 1000])
        return status, body, answer_headers


def path_of(location: str) -> str:
    """A Location header's path (Django sends relative ones; a base is cut off)."""
    return re.sub(r"^https?://[^/]+", "", location)


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.samples: list[list] = []
        self.counts: collections.Counter = collections.Counter()
        self.tasks: set[asyncio.Task] = set()
        self.rate = 0.0
        self.arrivals: asyncio.Task | None = None
        self.papers: list[dict] = []  # the single-endpoint phases' papers
        self.login_task: asyncio.Task | None = None
        self.in_flight: dict[int, float] = {}  # request → sent_ms

    def setup(
        self,
        players: list[dict],
        fresh: list[dict],
        logins: list[dict],
        paper_start: str,
        daily_start: str,
        think: list[float],
        daily_share: float,
        mode: str = "json",
    ) -> dict:
        self.players, self.fresh, self.logins = players, list(fresh), list(logins)
        self.paper_start, self.daily_start = paper_start, daily_start
        self.think, self.daily_share, self.mode = think, daily_share, mode
        self.next_player = 0
        return {"players": len(players), "fresh": len(fresh), "logins": len(logins)}

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def requests_per_visit(self) -> float:
        """A paper visit: start, page, 20 answers, submit, results (the form fallback:
        start, page, submit, results); a daily quiz: the same with 5 answers."""
        answers = (20, 5) if self.mode == "json" else (0, 0)
        paper, daily = 4 + answers[0], 4 + answers[1]
        return (1 - self.daily_share) * paper + self.daily_share * daily

    # --- the open loop -------------------------------------------------------------------

    def set_rate(self, rate: float) -> dict:
        self.rate = rate
        if rate > 0 and (self.arrivals is None or self.arrivals.done()):
            self.arrivals = asyncio.create_task(self._arrive())
        return {"rate": rate, "visits_under_way": len(self.tasks)}

    async def _arrive(self) -> None:
        next_at = time.monotonic()
        while self.rate > 0:
            visits_per_s = self.rate / self.requests_per_visit()
            next_at += self.rng.expovariate(visits_per_s)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if self.rate <= 0:
                return
            daily = self.rng.random() < self.daily_share
            if daily and not self.fresh:
                self.counts["daily_players_used_up"] += 1
                daily = False
            if daily:
                self._spawn(self._visit(self.fresh.pop(), "daily", self.daily_start, 5))
            else:
                player = self.players[self.next_player % len(self.players)]
                self.next_player += 1
                self._spawn(self._visit(player, "paper", self.paper_start, 20))

    async def _pause(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think))

    async def _visit(self, user: dict, kind: str, start: str, expected: int) -> None:
        self.counts[f"{kind}_visits"] += 1
        visit = Visit(self, user)
        try:
            done = await self._take_paper(visit, kind, start, expected)
            self.counts[f"{kind}_{'done' if done else 'abandoned'}"] += 1
        except Exception as failed:
            self.counts[f"{kind}_crashed:{type(failed).__name__}"] += 1
        finally:
            await visit.close()

    async def _take_paper(self, visit: Visit, kind: str, start: str, expected: int) -> bool:
        status, _, headers = await visit.request(
            f"{kind}.start", "POST", start, data={"csrfmiddlewaretoken": visit.csrf}
        )
        if status != 302:
            return False
        page = path_of(headers.get("Location", ""))
        status, html, _ = await visit.request(f"{kind}.page", "GET", page)
        if status != 200:
            return False
        items = parse_items(html)
        if len(items) != expected:
            self.counts[f"{kind}_items_{len(items)}"] += 1
        answers = {}
        for item, qtype, values in items:
            await self._pause()
            answers[item] = choose(self.rng, qtype, values)
            if self.mode == "json":
                answer_id = f"{item}-{self.rng.getrandbits(40):010x}"
                status, _, _ = await visit.request(
                    f"{kind}.answer",
                    "POST",
                    f"{page}answers/",
                    json={"item": item, "answer": answers[item], "answer_id": answer_id},
                )
                if status != 200:
                    return False
        await self._pause()
        results = await self._submit(visit, kind, page, answers)
        if results is None:
            return False
        status, _, _ = await visit.request(f"{kind}.results", "GET", results)
        return status == 200

    async def _submit(self, visit: Visit, kind: str, page: str, answers: dict) -> str | None:
        """Submit the paper (JSON, or the form without the answer endpoints): the
        results page's path, None if refused."""
        if self.mode == "json":
            status, body, _ = await visit.request(
                f"{kind}.submit",
                "POST",
                f"{page}submit/",
                json={},
                headers={"Accept": "application/json"},
            )
            if status != 200:
                return None
            return path_of(json.loads(body)["url"])
        fields = [("csrfmiddlewaretoken", visit.csrf)]
        for item, answer in answers.items():
            fields += form_fields(answer, item)
        status, _, headers = await visit.request(
            f"{kind}.submit", "POST", f"{page}submit/", data=fields
        )
        return path_of(headers["Location"]) if status == 302 else None

    async def drain(self, timeout: float = 120) -> dict:
        self.rate = 0
        deadline = time.monotonic() + timeout
        while self.tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return {"left": len(self.tasks)}

    def collect(self) -> dict:
        samples, self.samples = self.samples, []
        counts, self.counts = dict(self.counts), collections.Counter()
        return {
            "samples": samples,
            "counts": counts,
            "visits_under_way": len(self.tasks),
            # Requests still waiting for an answer: sent when (their latency is at least
            # the time since).
            "pending_sent_ms": list(self.in_flight.values()),
        }

    # --- probes and single-endpoint phases --------------------------------------------------

    async def probe(self) -> dict:
        """Start a paper, autosave one answer, read /livez: which endpoints exist."""
        visit = Visit(self, self.players[0])
        try:
            status, _, headers = await visit.request(
                "probe", "POST", self.paper_start, data={"csrfmiddlewaretoken": visit.csrf}
            )
            if status != 302:
                raise RuntimeError(f"starting a paper answered {status}")
            page = path_of(headers["Location"])
            _, html, _ = await visit.request("probe", "GET", page)
            item, qtype, values = parse_items(html)[0]
            answers, _, _ = await visit.request(
                "probe",
                "POST",
                f"{page}answers/",
                json={"item": item, "answer": choose(self.rng, qtype, values), "answer_id": "p1"},
            )
            livez, _, _ = await visit.request("probe", "GET", "/livez")
        finally:
            await visit.close()
            self.samples = []
        return {"answers": answers, "livez": livez}

    async def phase(self, endpoint: str, rate: float, duration: float) -> dict:
        """`endpoint` alone, rate × duration requests at even intervals. paper.start
        starts the papers the next phases use (page, answer, submit, results)."""
        if endpoint == "paper.start":
            self.papers = []
        count = max(1, round(rate * duration))
        began = time.monotonic()
        jobs = []
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
            jobs.append(asyncio.create_task(self._one(endpoint, n)))
        statuses = collections.Counter(str(s) for s in await asyncio.gather(*jobs))
        samples, self.samples = [s for s in self.samples if s[0] == endpoint], []
        return {"count": count, "statuses": dict(statuses), "samples": samples}

    async def _one(self, endpoint: str, n: int) -> int | str:
        if endpoint == "paper.start" or endpoint in ("livez", "healthz"):
            user = self.players[n % len(self.players)]
        else:
            paper = self.papers[n % len(self.papers)]
            user = paper["user"]
        visit = Visit(self, user)
        try:
            if endpoint == "paper.start":
                status, _, headers = await visit.request(
                    endpoint, "POST", self.paper_start, data={"csrfmiddlewaretoken": visit.csrf}
                )
                if status == 302:
                    self.papers.append({"user": user, "page": path_of(headers["Location"])})
                return status
            if endpoint in ("livez", "healthz"):
                return (await visit.request(endpoint, "GET", f"/{endpoint}"))[0]
            if endpoint in ("paper.page", "paper.results"):
                status, html, _ = await visit.request(endpoint, "GET", paper["page"])
                if endpoint == "paper.page" and status == 200:
                    paper["items"] = parse_items(html)
                return status
            if not paper.get("items"):  # its page did not load in the page phase
                return "no-page"
            item, qtype, values = self.rng.choice(paper["items"])
            answer = choose(self.rng, qtype, values)
            if endpoint == "paper.answer":
                body = {"item": item, "answer": answer, "answer_id": f"c{n}-{item}"}
                return (
                    await visit.request(endpoint, "POST", f"{paper['page']}answers/", json=body)
                )[0]
            # paper.submit: the samples are this endpoint's only.
            results = await self._submit(visit, "paper", paper["page"], {item: answer})
            return 200 if results else "refused"
        finally:
            await visit.close()

    # --- sign-ins ---------------------------------------------------------------------------

    async def login_burst(self, count: int, spread: float) -> dict:
        """`count` sign-ins through allauth's form: GET the form (its CSRF cookie and
        token), POST the credentials; each a new browser. Latency: both requests."""
        took: list[float] = []
        statuses: collections.Counter = collections.Counter()

        async def one(user: dict, delay: float) -> None:
            await asyncio.sleep(delay)
            visit = Visit(self, {"base": user["base"]})
            started = time.perf_counter()
            try:
                status, html, _ = await visit.request("login.form", "GET", "/accounts/login/")
                token = CSRF_FIELD.search(html) if status == 200 else None
                if token is None:
                    statuses[f"form:{status}"] += 1
                    return
                status, _, _ = await visit.request(
                    "login.post",
                    "POST",
                    "/accounts/login/",
                    data={
                        "csrfmiddlewaretoken": token.group(1),
                        "login": user["username"],
                        "password": user["password"],
                    },
                )
                statuses[str(status)] += 1
                if status == 302 and "sessionid" in visit.cookies:
                    took.append((time.perf_counter() - started) * 1000)
            finally:
                await visit.close()

        users = [self.logins.pop() for _ in range(min(count, len(self.logins)))]
        await asyncio.gather(*(one(user, self.rng.uniform(0, spread)) for user in users))
        return {"count": len(users), "statuses": dict(statuses), "signed_in_ms": took}


async def worker_main(seed: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    generator = Generator(seed)
    out = sys.stdout
    while True:
        line = await reader.readline()
        if not line:
            return
        message = json.loads(line)
        op = message.pop("op")
        try:
            if op == "exit":
                await generator.drain(5)
                for task in list(generator.tasks):
                    task.cancel()
                reply: dict = {"ok": True}
            elif op == "setup":
                reply = generator.setup(**message)
            elif op == "probe":
                reply = await generator.probe()
            elif op == "rate":
                reply = generator.set_rate(message["rate"])
            elif op == "collect":
                reply = generator.collect()
            elif op == "drain":
                reply = await generator.drain(**message)
            elif op == "phase":
                reply = await generator.phase(**message)
            elif op == "logins":
                # In the background: the orchestrator collects the mix meanwhile.
                generator.login_task = asyncio.create_task(generator.login_burst(**message))
                reply = {"started": True}
            elif op == "logins_done" and generator.login_task is not None:
                reply = await generator.login_task
            else:
                reply = {"error": f"unknown op {op}"}
        except Exception as failed:
            reply = {"error": f"{type(failed).__name__}: {failed}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if op == "exit":
            return


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "worker":
        asyncio.run(worker_main(int(sys.argv[2]) if len(sys.argv) > 2 else 0))
    else:
        # Not a benchmark of its own (`make bench` runs every bench/*.py): say so, succeed.
        print("bench/_http_support.py: the load generator of bench/http_load.py", file=sys.stderr)
