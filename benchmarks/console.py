"""Console benchmark: its pages on a plan of 10,000 tasks, on the server and in headless chromium.

    .venv/bin/python benchmarks/console.py [--tasks 10000] [--chains 10] [--samples 50]

Starts `python -m devnet up --orgs 1 --services --no-workers` (PostgreSQL, S3; nothing runs, so
the plan stays as registered), registers a plan of `tasks` tasks with the SDK as
benchmarks/backend.py does, waits for the mirror, signs in to the console with its form, then
measures:

- `<page>_p95_ms`: the p95 of `samples` GETs of each list page and live endpoint of the console:
  the plans list, its live JSON, the plan's page (task table, chart), the plan's graph JSON (every
  task with its parents, fetched once by the page), the plan's live JSON (each task's status and
  the performances, polled), the datasets and functions lists.
- `graph_draw_10k_ms`: in headless chromium, the time graph.js takes to lay out and draw the
  plan's workflow graph (window.consoleGraphDrawMs), best and median of 5 page loads;
  `graph_page_ready_ms`: from navigation to the graph drawn, with the live JSON fetched.

Progress goes to stderr; the last stdout line is one JSON object. Targets: list pages p95 at most
200 ms; the 10,000-task graph drawn in at most 2 s.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402
import substra  # noqa: E402

from benchmarks.backend import devnet, log, plan_spec, register_assets, wait_mirrored  # noqa: E402
from tests.console.browsing import browser  # noqa: E402


def console_session(url: str, username: str, password: str) -> requests.Session:
    """Signed in through the console's form, as a browser is (session cookie, CSRF token)."""
    session = requests.Session()
    session.get(f"{url}/console/sign-in/").raise_for_status()
    answer = session.post(
        f"{url}/console/sign-in/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{url}/console/sign-in/"},
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"console sign-in answered {answer.status_code}")
    return session


def p95(session: requests.Session, url: str, samples: int) -> tuple[float, float]:
    latencies = []
    for _ in range(samples):
        start = time.perf_counter()
        answer = session.get(url)
        latencies.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    latencies.sort()
    return latencies[max(0, round(0.95 * len(latencies)) - 1)], statistics.median(latencies)


def graph_timings(
    url, session: requests.Session, plan: str, tasks: int, screenshot: str | None, loads: int = 5
) -> dict:
    host = url.split("//", 1)[1].split(":")[0]
    cookies = [{"name": c.name, "value": c.value, "domain": host, "path": "/"} for c in session.cookies]
    draws, ready = [], []
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1366, "height": 768})
        context.add_cookies(cookies)
        page = context.new_page()
        for _ in range(loads):
            start = time.perf_counter()
            page.goto(f"{url}/console/plans/{plan}/")
            page.wait_for_function(f"document.getElementById('graph').dataset.drawnTasks === '{tasks}'", timeout=60_000)
            ready.append((time.perf_counter() - start) * 1000)
            draws.append(page.evaluate("window.consoleGraphDrawMs"))
        if screenshot:
            page.locator("#graph").screenshot(path=screenshot)
        context.close()
    return {
        "graph_draw_10k_ms": round(statistics.median(draws), 1),
        "graph_draw_10k_best_ms": round(min(draws), 1),
        "graph_page_ready_ms": round(statistics.median(ready), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--chains", type=int, default=10)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--screenshot", help="save a picture of the drawn graph there (PNG)")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-console-"))
    log("starting a one-organization devnet with PostgreSQL and S3, without workers")
    devnet("up", "--orgs", "1", "--services", "--no-workers", "--state-dir", str(state))
    client = None
    try:
        org = json.loads((state / "network.json").read_text())["orgs"][0]
        url = org["url"]
        client = substra.Client(url=url, backend_type="remote", username=org["username"], password=org["password"])
        dataset, sample, function = register_assets(client, org["org_id"], state)
        log(f"add_compute_plan of {args.tasks} tasks")
        plan = client.add_compute_plan(plan_spec(org["org_id"], dataset, sample, function, args.tasks, args.chains))
        api = requests.Session()
        credentials = {"username": org["username"], "password": org["password"]}
        api.headers["Authorization"] = (
            f"Token {requests.post(f'{url}/api-token-auth/', data=credentials).json()['token']}"
        )
        wait_mirrored(api, url, plan.key, args.tasks)
        session = console_session(url, org["username"], org["password"])
        pages = {
            "plans_list": "/console/plans/",
            "plans_live": f"/console/plans/live.json?keys={plan.key}",
            "plan_page": f"/console/plans/{plan.key}/",
            "plan_graph": f"/console/plans/{plan.key}/graph.json",
            "plan_live": f"/console/plans/{plan.key}/live.json",
            "datasets_list": "/console/datasets/",
            "functions_list": "/console/functions/",
        }
        results = {}
        for name, path in pages.items():
            worst, median = p95(session, url + path, args.samples)
            results[f"{name}_p95_ms"] = round(worst, 1)
            results[f"{name}_p50_ms"] = round(median, 1)
            log(f"{name}: p95 {worst:.1f} ms")
        log("drawing the graph in headless chromium")
        results.update(graph_timings(url, session, plan.key, args.tasks, args.screenshot))
        results.update({"tasks": args.tasks, "chains": args.chains, "loadavg": [round(x, 2) for x in os.getloadavg()]})
        print(json.dumps(results))
    finally:
        if client is not None:
            client.logout()  # while the backend still answers: the SDK ends its session at exit otherwise
        devnet("down", "--state-dir", str(state))


if __name__ == "__main__":
    main()
