"""A live progress bar of a compute plan's tasks by status, from the plan's counts."""

import sys
import time

import substra
from tqdm import tqdm

ENDED = {
    substra.models.ComputePlanStatus.done,
    substra.models.ComputePlanStatus.failed,
    substra.models.ComputePlanStatus.canceled,
}


class PlanTimeout(Exception):
    pass


def task_counts(plan) -> str:
    waiting = plan.waiting_builder_slot_count + plan.waiting_parent_tasks_count + plan.waiting_executor_slot_count
    counts = [f"executing {plan.executing_count}", f"waiting {waiting}"]
    # Only on a first Docker run: the function images are being built.
    if plan.building_count:
        counts.append(f"building images {plan.building_count}")
    counts.append(f"failed {plan.failed_count}")
    return ", ".join(counts)


def follow_plan(client: substra.Client, plan_key: str, timeout: float, check=lambda: None, polling_period=0.5):
    """Polls the plan until it ends, showing done tasks as a bar and the other statuses beside it;
    returns the ended plan. `check()` is called at each poll: it raises to give up."""
    deadline = time.monotonic() + timeout
    interactive = sys.stdout.isatty()
    # A terminal sees every poll; a log file a line every 10 s.
    every = 0.0 if interactive else 10.0
    bar_format = "tasks {bar} {n_fmt}/{total_fmt} done{postfix} [{elapsed}]"
    plan = client.get_compute_plan(plan_key)
    with tqdm(
        total=plan.task_count, initial=plan.done_count, postfix=task_counts(plan), file=sys.stdout,
        bar_format=bar_format, ncols=None if interactive else 100,
    ) as bar:  # fmt: skip
        shown = time.monotonic()
        while True:
            bar.n = plan.done_count
            bar.set_postfix_str(task_counts(plan), refresh=False)
            if plan.status in ENDED:
                return plan  # closing the bar shows it a last time
            if time.monotonic() - shown >= every:
                bar.refresh()
                shown = time.monotonic()
            check()
            if time.monotonic() > deadline:
                raise PlanTimeout(f"the plan did not end within {timeout:.0f} s ({task_counts(plan)})")
            time.sleep(polling_period)
            plan = client.get_compute_plan(plan_key)
