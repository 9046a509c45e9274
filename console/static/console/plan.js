// A plan's page, live: every few seconds one request (live.json) brings the plan's summary,
// every task's status and the performances; the graph, the charts and the summary are redrawn.
// Polling stops once the plan has ended.
"use strict";

const POLL_MS = 3000;
const ENDED = ["PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"];

function renderPlan(state) {
  window.consoleGraph.drawGraph(document.getElementById("graph"), state.tasks);
  const canvases = document.querySelectorAll("#charts canvas.perf");
  state.charts.forEach((chart, i) => { if (canvases[i]) window.consoleChart.drawChart(canvases[i], chart); });
  window.consoleLive.updateSummary(document.getElementById("summary"), state.plan);
}

async function pollPlan(url) {
  try {
    const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!answer.ok) return;
    const state = await answer.json();
    renderPlan(state);
    if (ENDED.includes(state.plan.status)) return;
  } catch (error) {
    // The network or the backend is away for a moment: try again at the next tick.
  }
  setTimeout(() => pollPlan(url), POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const graph = document.getElementById("graph");
  window.consoleGraph.enableTaskLinks(graph);
  const charts = JSON.parse(document.getElementById("charts-data").textContent);
  document.querySelectorAll("#charts canvas.perf").forEach((canvas, i) => window.consoleChart.drawChart(canvas, charts[i]));
  pollPlan(document.getElementById("summary").dataset.liveUrl);
});
