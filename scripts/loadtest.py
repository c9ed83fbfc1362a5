"""Many visitors at once: concurrent browser sessions against a locally started vnviz server.

    .venv/bin/python scripts/loadtest.py --sessions 4 --seconds 60 [--json out.json]

Starts the app on a free loopback port, opens ``--sessions`` isolated browser
contexts in the system Chromium (Playwright), and has each one open Explore
views with changing data and variants for a bounded time. Reports views
served, errors (must be 0), latency percentiles (link opened -> charts and the
verification drawn) and the server's resident memory before, after a first
round and at the end (caches have limits, so it must level off). It also
checks that sessions never see each other's uploads. Traffic goes to
127.0.0.1 only, and every loop is bounded in count and time.

A view not drawn within 60 s (``--view-timeout``) is listed as "slow", with
what the page showed then (charts, selected tab, status), and opened once
more; it is an error only if it fails again. On any error or slow view the
server's log is printed too.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import socket
import math
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWS = [  # (source, variant, extra query) — generators, datasets and every norm
    ("gaussian", "batch_norm", ""), ("images", "instance_norm", ""), ("tokens", "layer_norm", "&normalized_shape=128"),
    ("digits", "group_norm", ""), ("shifted_channels", "rms_norm", ""), ("mixture", "cluster_norm", "&n_clusters=3"),
    ("outliers", "batch_norm", "&training=false"), ("wine", "layer_norm", ""), ("heavy_tailed", "group_norm", "&num_groups=4"),
    ("skewed", "instance_norm", "&eps=0.001"), ("photos", "group_norm", "&num_groups=3"), ("iris", "batch_norm", "&weight=2.0"),
]
MAX_VIEWS_PER_SESSION = 500  # a hard bound on each session's loop, whatever --seconds says


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int, log=subprocess.DEVNULL, script: Path | str = ROOT / "app.py",
                 launcher: tuple[str, ...] = (str(ROOT / "scripts" / "serve.py"),)) -> subprocess.Popen:
    """Start the app headless on 127.0.0.1:``port``; return once /_stcore/health says ok (``proc.url`` is its address).

    ``log``: where the server's stdout and stderr go (a file object), by default nowhere.
    ``script``: the Streamlit script to serve (scripts/latency.py serves its floor page too);
    ``launcher``: what Python runs with Streamlit's arguments: by default scripts/serve.py, as scripts/app.sh
    does (``("-m", "streamlit")`` for a bare ``streamlit run``; latency.py's ``--server-timing`` passes its
    timed command line).
    """
    proc = subprocess.Popen(
        [sys.executable, *launcher, "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    proc.url = f"http://127.0.0.1:{port}"
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not become healthy within 90 s")


async def open_view(page, url: str, timeout_ms: int = 60_000) -> tuple[float, str | None]:
    """(seconds until the charts and verification are drawn, error text or None)."""
    t0 = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout_ms)
    await page.get_by_role("tab", name="Verification").click()
    await page.get_by_text("Verified").first.wait_for(timeout=timeout_ms)
    elapsed = time.perf_counter() - t0
    if await page.locator('[data-testid="stException"]').count():
        return elapsed, "exception shown"
    if await page.locator('[data-testid="stAlertContentError"]').count():
        return elapsed, await page.locator('[data-testid="stAlertContentError"]').first.inner_text()
    return elapsed, None


async def page_state(page) -> str:
    """What the page showed when a view failed: enough to tell a slow server from a lost click or connection."""
    try:
        return await asyncio.wait_for(_page_state(page), 20)
    except Exception as err:  # the page itself is gone or frozen: say so
        return f"page state unreadable ({type(err).__name__})"


async def _page_state(page) -> str:
    counts = {name: await page.locator(selector).count() for name, selector in [
        ("charts", ".js-plotly-plot .main-svg"), ("exceptions", '[data-testid="stException"]'),
        ("app skeleton", '[data-testid="stAppSkeleton"]')]}
    counts["'Verified'"] = await page.get_by_text("Verified").count()
    tabs = await page.locator('[role="tab"][aria-selected="true"]').all_inner_texts()
    status = await page.locator('[data-testid="stStatusWidget"], [data-testid="stConnectionStatus"]').all_inner_texts()
    return (f"page state: {', '.join(f'{k} {v}' for k, v in counts.items())}, selected tab {tabs or 'none'}, "
            f"status {[t.strip() for t in status] or 'idle'}")


async def visitor(browser, base: str, index: int, deadline: float, out: dict, timeout_ms: int) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    rng = random.Random(index)
    served = 0
    while time.time() < deadline and served < MAX_VIEWS_PER_SESSION:
        source, variant, extra = rng.choice(VIEWS)
        url = f"{base}/explore?source={source}&variant={variant}&seed={rng.randrange(4)}{extra}"
        t0 = time.perf_counter()
        try:
            seconds, error = await open_view(page, url, timeout_ms)
        except Exception as err:  # not drawn in time: say what the page showed, then give it one reload
            first = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}; {await page_state(page)}"
            try:
                _, error = await open_view(page, url, timeout_ms)
                seconds = time.perf_counter() - t0  # the latency the visitor saw, the wait and the reload included
                out["slow"].append(f"session {index}: {url}: {first}; drawn after one reload")
            except Exception as err2:
                seconds, error = float("nan"), f"{first}; after a reload: {type(err2).__name__}: " \
                                                f"{str(err2).splitlines()[0][:200]}; {await page_state(page)}"
        served += 1
        out["latency"].append(seconds)
        if error:
            out["errors"].append(f"session {index}: {url}: {error}")
    out["views"] += served
    await context.close()


async def isolation(browser, base: str) -> str | None:
    """One session uploads a file; a second session must not see it. Returns a problem or None."""
    a = await browser.new_context()
    b = await browser.new_context()
    pa, pb = await a.new_page(), await b.new_page()
    await pa.goto(f"{base}/explore?source=upload")
    buf = io.BytesIO()
    np.save(buf, np.arange(7 * 3 * 5, dtype=np.float32).reshape(7, 3, 5))
    await pa.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "private.npy", "mimeType": "application/octet-stream", "buffer": buf.getvalue()}])
    await pa.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    await pb.goto(f"{base}/explore?source=upload")
    await pb.get_by_text("Upload a file").first.wait_for(timeout=60_000)
    problem = None
    if await pb.locator(".js-plotly-plot").count() or await pb.get_by_text("private.npy").count():
        problem = "a second session saw the first session's upload"
    await a.close()
    await b.close()
    return problem


async def run(sessions: int, seconds: float, base: str, pid: int, timeout_ms: int = 60_000) -> dict:
    from playwright.async_api import async_playwright

    result: dict = {"sessions": sessions, "seconds": seconds, "views": 0, "errors": [], "slow": [], "latency": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        result["isolation_problem"] = await isolation(browser, base)
        result["rss_before_MiB"] = rss_mib(pid)
        half = time.time() + seconds / 2
        await asyncio.gather(*(visitor(browser, base, i, half, result, timeout_ms) for i in range(sessions)))
        result["rss_half_MiB"] = rss_mib(pid)
        end = time.time() + seconds / 2
        await asyncio.gather(*(visitor(browser, base, i + sessions, end, result, timeout_ms) for i in range(sessions)))
        result["rss_after_MiB"] = rss_mib(pid)
        await browser.close()
    lat = sorted(v for v in result.pop("latency") if v == v)
    if lat:
        def rank(p: float) -> float:  # nearest-rank percentile: always one of the measured values
            return lat[min(len(lat) - 1, max(0, math.ceil(p / 100 * len(lat)) - 1))]
        result["latency_s"] = {"p50": rank(50), "p90": rank(90), "p99": rank(99), "max": lat[-1]}
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", default=None)
    parser.add_argument("--view-timeout", type=float, default=60,
                        help="seconds a view may take before it is reported slow and reloaded once")
    args = parser.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = start_server(port, log)
        try:
            result = asyncio.run(run(args.sessions, args.seconds, f"http://127.0.0.1:{port}", server.pid,
                                     int(args.view_timeout * 1000)))
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        result["server_log_tail"] = log.read()[-3000:]
    print(f"{result['views']} views served by {args.sessions} x 2 sessions in {args.seconds:.0f} s, "
          f"{len(result['errors'])} errors, {len(result['slow'])} drawn only after a reload")
    if "latency_s" in result:
        lat = result["latency_s"]
        print(f"latency (link -> charts + verification): p50 {lat['p50']:.2f} s, p90 {lat['p90']:.2f} s, "
              f"p99 {lat['p99']:.2f} s, max {lat['max']:.2f} s")
    print(f"server memory: {result['rss_before_MiB']:.0f} MiB before, {result['rss_half_MiB']:.0f} MiB after the "
          f"first half, {result['rss_after_MiB']:.0f} MiB at the end")
    print("isolation: " + (result["isolation_problem"] or "a second session never saw the first one's upload"))
    for e in result["errors"][:10]:
        print("  error:", e)
    for e in result["slow"][:10]:
        print("  slow:", e)
    if (result["errors"] or result["slow"]) and result["server_log_tail"].strip():
        print("the server's log, last lines:\n" + result["server_log_tail"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    res = main()
    sys.exit(1 if res["errors"] or res["isolation_problem"] else 0)
