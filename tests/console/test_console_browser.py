"""The console in headless chromium against a live three-organization devnet (subprocess
executor): a finished FedAvg plan and a failed task, then each main flow as a person runs it.
Screenshots of each page go to the folder the session's summary names (tests/console/browsing.py)."""

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import substra
from substra.sdk.schemas import ComputePlanSpec, ComputePlanTaskSpec, ComputeTaskOutputSpec, InputRef

from examples.fedavg import workflow
from tests.console.browsing import SCREENSHOTS, browser, chromium_available

REPO = Path(__file__).resolve().parents[2]
AGGREGATOR, DATA_ORGS = "MyOrg1MSP", ["MyOrg2MSP", "MyOrg3MSP"]

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (scripts/ensure-chromium)"),
]


def devnet(*args: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "devnet", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )


def wait_plan(client: substra.Client, key: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_compute_plan(key).status
        if status in ("PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"):
            return status
        time.sleep(1)
    raise AssertionError(f"plan {key} still {status} after {timeout} s")


def broken_function(clients, assets, files, folder: Path) -> str:
    """A train function whose code fails at once: its task fails with an EXECUTION_ERROR and logs."""
    archive = folder / "broken.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Dockerfile", workflow.dockerfile("train"))
        zipped.writestr("fedavg.py", "raise RuntimeError('deliberately broken for the console test')\n")
    spec = workflow._function_specs(files, workflow._private(*assets.organization_ids.values()))["train"]
    return clients[AGGREGATOR].add_function(spec.model_copy(update={"name": "Broken train", "file": archive}))


def failing_plan(client, assets, function_key: str) -> str:
    org = DATA_ORGS[0]
    task = ComputePlanTaskSpec(
        task_id=str(uuid.uuid4()),
        function_key=function_key,
        worker=assets.worker(org),
        inputs=[
            InputRef(identifier="opener", asset_key=assets.datasets[org]),
            InputRef(identifier="datasamples", asset_key=assets.train_samples[org]),
        ],
        outputs={"local": ComputeTaskOutputSpec(permissions=workflow._private(assets.worker(org), AGGREGATOR))},
        metadata={"round_idx": "1"},
    )
    return client.add_compute_plan(ComputePlanSpec(name="Broken plan", tasks=[task])).key


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A devnet with a finished FedAvg plan (2 rounds) and a failed plan, seen from MyOrg1MSP."""
    state = tmp_path_factory.mktemp("console-devnet")
    started = devnet("up", "--orgs", "3", "--state-dir", str(state), "--executor", "subprocess")
    clients = {}
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        orgs = {org["org_id"]: org for org in json.loads((state / "network.json").read_text())["orgs"]}
        for org_id, org in orgs.items():
            clients[org_id] = substra.Client(url=org["url"], backend_type="remote")
            clients[org_id].login(org["username"], org["password"])
        files = workflow.prepare_files(state / "fedavg", data_orgs=2)
        assets = workflow.register_assets(clients, DATA_ORGS, AGGREGATOR, files)
        fedavg = workflow.submit_plan(clients[AGGREGATOR], assets, 2, name="FedAvg console")
        broken = failing_plan(clients[AGGREGATOR], assets, broken_function(clients, assets, files, state))
        assert wait_plan(clients[AGGREGATOR], fedavg) == "PLAN_STATUS_DONE"
        assert wait_plan(clients[AGGREGATOR], broken) == "PLAN_STATUS_FAILED"
        yield {
            "state": state,
            "org": orgs[AGGREGATOR],
            "clients": clients,
            "assets": assets,
            "fedavg": fedavg,
            "broken": broken,
        }
    finally:
        for client in clients.values():
            client.logout()  # while the backends answer: the SDK ends its sessions at exit otherwise
        devnet("down", "--state-dir", str(state))


@pytest.fixture(scope="module")
def shots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


@pytest.fixture(scope="module")
def chromium():
    with browser() as launched:
        yield launched


def sign_in(chromium, url: str, username: str, password: str):
    page = chromium.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{url}/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/plans/")
    return page


def test_a_person_follows_plans_reads_a_failure_and_manages_users_in_the_console(world, chromium, shots):
    org = world["org"]
    page = sign_in(chromium, org["url"], org["username"], org["password"])

    # The plans list: both plans, the finished one complete.
    row = page.locator(f'tr[data-key="{world["fedavg"]}"]')
    assert "10/10 done" in row.inner_text()
    assert "failed" in page.locator(f'tr[data-key="{world["broken"]}"]').inner_text()
    page.screenshot(path=shots / "plans.png", full_page=True)

    # Another plan runs: its row moves on without a reload.
    running = workflow.submit_plan(world["clients"][AGGREGATOR], world["assets"], 2, name="FedAvg live")
    page.reload()
    live_row = page.locator(f'tr[data-key="{running}"]')
    first = live_row.locator('[data-field="progress"]').inner_text()
    page.wait_for_function(
        "([key, first]) => document.querySelector(`tr[data-key='${key}'] [data-field='progress']`).innerText !== first",
        arg=[running, first],
        timeout=60_000,
    )

    # The finished plan's page: graph of its 10 tasks, a chart, the task table.
    page.get_by_role("link", name="FedAvg console").click()
    page.wait_for_function("document.getElementById('graph').dataset.drawnTasks === '10'")
    assert page.locator("#charts figure.chart").count() >= 1
    assert page.locator("#tasks tbody tr").count() == 10
    page.screenshot(path=shots / "plan.png", full_page=True)
    # The graph with a keyboard: focus, arrows, Enter opens the task said.
    page.locator("#graph").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    said = page.locator("#graph-selection").inner_text()
    assert said.startswith("task ") and "done" in said
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/tasks/**")
    assert said.split()[1].rstrip(",") in page.url

    # The failed task's logs, fetched from the organization that ran it.
    page.goto(f"{org['url']}/console/plans/{world['broken']}/")
    page.locator("#tasks tbody a").first.click()
    assert "deliberately broken for the console test" in page.locator("pre.logs").inner_text()
    page.screenshot(path=shots / "failed-task.png", full_page=True)

    # Datasets and functions, with their descriptions rendered.
    page.get_by_role("link", name="Datasets").click()
    page.get_by_role("link", name=f"Breast cancer ({DATA_ORGS[0]})").click()
    assert page.locator(".markdown").inner_text().strip()
    assert page.get_by_role("link", name="Download the opener").count() == 1
    page.screenshot(path=shots / "dataset.png", full_page=True)
    page.get_by_role("link", name="Functions").click()
    page.get_by_role("link", name="FedAvg train").click()
    assert page.locator(".markdown h1").inner_text().startswith("FedAvg")
    page.screenshot(path=shots / "function.png", full_page=True)

    # An admin creates a user, changes its role, resets its password.
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Username", exact=True).fill("dana")
    page.get_by_label("Password", exact=True).fill("a long console passphrase 1")
    page.get_by_label("Role", exact=True).select_option("USER")
    page.get_by_role("button", name="Create user").click()
    assert "User dana created." in page.locator(".messages").inner_text()
    user_row = page.locator('tr[data-username="dana"]')
    user_row.get_by_label("Role of dana").select_option("ADMIN")
    user_row.get_by_role("button", name="Set role").click()
    assert "dana is now ADMIN" in page.locator(".messages").inner_text()
    user_row = page.locator('tr[data-username="dana"]')
    user_row.get_by_label("Role of dana").select_option("USER")
    user_row.get_by_role("button", name="Set role").click()
    user_row = page.locator('tr[data-username="dana"]')
    user_row.get_by_label("New password for dana").fill("the reset passphrase 2")
    user_row.get_by_role("button", name="Reset password").click()
    assert "password of dana was reset" in page.locator(".messages").inner_text()
    page.screenshot(path=shots / "users.png", full_page=True)

    # A user of the USER role, signed in with the reset password, sees no user management.
    dana = sign_in(chromium, org["url"], "dana", "the reset passphrase 2")
    assert dana.get_by_role("link", name="Users").count() == 0
    assert dana.goto(f"{org['url']}/console/users/").status == 403
    dana.close()

    # The integrity page: intact, then broken once an event is rewritten in the orchestrator.
    page.get_by_role("link", name="Integrity").click()
    page.get_by_role("button", name="Check the whole chain now").click()
    assert "Chain intact." in page.locator("#check").inner_text()
    page.screenshot(path=shots / "integrity.png", full_page=True)
    alter_event(world["state"], position=3)
    page.get_by_role("button", name="Check the whole chain now").click()
    verdict = page.locator("#check").inner_text()
    assert "Chain broken." in verdict and "event 3 was altered" in verdict.lower()
    page.screenshot(path=shots / "integrity-broken.png", full_page=True)

    page.get_by_role("link", name="Network").click()
    assert page.locator("#workers tbody tr").count() >= 1
    page.screenshot(path=shots / "network.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in/")
    page.goto(f"{org['url']}/console/plans/")
    assert "/console/sign-in/" in page.url
    page.close()


def alter_event(state: Path, position: int) -> None:
    """What a dishonest operator of the orchestrator would do: rewrite an event in its database."""
    with sqlite3.connect(state / "orchestrator" / "orchestrator.sqlite3") as db:
        changed = db.execute(
            "UPDATE orchestrator_event SET asset_json = asset_json || ' ' WHERE channel = 'mychannel' AND position = ?",
            (position,),
        ).rowcount
    assert changed == 1


# The WCAG 2.0 and 2.1 rules of levels A and AA that axe-core checks (labels, names, contrast,
# landmarks, ARIA): a screen reader's user and a keyboard's need them.
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def test_every_console_page_passes_axe_cores_wcag_aa_rules(world, chromium):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    org = world["org"]
    visitor = chromium.new_page(viewport={"width": 1366, "height": 768})
    visitor.goto(f"{org['url']}/")
    pages = {"sign-in": visitor}
    page = sign_in(chromium, org["url"], org["username"], org["password"])
    paths = ["/console/plans/", f"/console/plans/{world['fedavg']}/"]
    page.goto(f"{org['url']}/console/plans/{world['fedavg']}/")
    paths.append(page.locator("#tasks tbody a").first.get_attribute("href"))
    page.goto(f"{org['url']}/console/plans/{world['broken']}/")
    paths.append(page.locator("#tasks tbody a").first.get_attribute("href"))  # a failed task, its logs
    paths += ["/console/datasets/", f"/console/datasets/{world['assets'].datasets[DATA_ORGS[0]]}/"]
    paths += ["/console/functions/", f"/console/functions/{world['assets'].functions['train']}/"]
    paths += ["/console/users/", "/console/tokens/", "/console/integrity/", "/console/network/"]

    found = {}
    for name, opened in pages.items():
        found[name] = axe.run(opened, options=WCAG_AA).response["violations"]
    # The control: a field without a label, added to a page, is found.
    visitor.evaluate("document.querySelector('form').append(document.createElement('input'))")
    assert "label" in {v["id"] for v in axe.run(visitor, options=WCAG_AA).response["violations"]}
    for path in paths:
        answer = page.goto(f"{org['url']}{path}")
        assert answer.status == 200, path
        if "/plans/" in path and path != "/console/plans/":
            page.wait_for_function("document.getElementById('graph').dataset.drawnTasks !== undefined")
        found[path] = axe.run(page, options=WCAG_AA).response["violations"]

    report = {
        where: [f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]}" for v in violations]
        for where, violations in found.items()
        if violations
    }
    assert report == {}, json.dumps(report, indent=1)
    assert len(found) == 13
