// The plans list, live: every few seconds one request brings the status and task counts of the
// plans on screen (two queries on the server), and their rows are updated in place.
"use strict";

const LIST_POLL_MS = 3000;

function statusBadge(status) {
  const badge = document.createElement("span");
  badge.className = "badge " + status.toLowerCase();
  badge.textContent = status.slice(12).toLowerCase();
  return badge;
}

function progress(counts) {
  const total = counts.task_count || 1;
  const wrap = document.createElement("span");
  wrap.className = "progress";
  wrap.setAttribute("role", "img");
  wrap.setAttribute("aria-label", `${counts.done_count} of ${counts.task_count} tasks done, ${counts.executing_count} executing, ${counts.failed_count} failed, ${counts.canceled_count} canceled`);
  const bar = document.createElement("span");
  bar.className = "bar";
  for (const [cls, count] of [["done", counts.done_count], ["failed", counts.failed_count]]) {
    const part = document.createElement("span");
    part.className = cls;
    part.style.width = `${Math.round((100 * count) / total)}%`;
    bar.appendChild(part);
  }
  const text = document.createElement("span");
  text.className = "counts";
  text.textContent = `${counts.done_count}/${counts.task_count} done · ${counts.executing_count} executing · ${counts.failed_count} failed · ${counts.canceled_count} canceled`;
  wrap.append(bar, text);
  return wrap;
}

function updateSummary(container, plan) {
  const set = (field, node) => {
    const cell = container.querySelector(`[data-field="${field}"]`);
    if (cell) cell.replaceChildren(node);
  };
  set("status", statusBadge(plan.status));
  set("progress", progress(plan.counts));
  set("duration", document.createTextNode(plan.duration === null ? "–" : `${plan.duration} s`));
}

async function pollList(table) {
  const rows = new Map([...table.querySelectorAll("tbody tr[data-key]")].map((row) => [row.dataset.key, row]));
  if (!rows.size) return;
  try {
    const url = `${table.dataset.liveUrl}?keys=${[...rows.keys()].join(",")}`;
    const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (answer.ok) {
      for (const plan of (await answer.json()).plans) updateSummary(rows.get(plan.key), plan);
    }
  } catch (error) {
    // Try again at the next tick.
  }
  setTimeout(() => pollList(table), LIST_POLL_MS);
}

window.consoleLive = { updateSummary };
document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("plans");
  if (table) pollList(table);
});
