// A plan's page, live: the graph's tasks are fetched once (graph.json); then every few seconds
// one request (live.json) brings the plan's summary, each task's status and the performances,
// and the graph, the charts and the summary are redrawn. A change in the number of tasks fetches
// the graph again. Polling stops once the plan has ended.
"use strict";

const POLL_MS = 3000;
const ENDED = ["PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"];

async function getJson(url) {
  const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!answer.ok) throw new Error(`${url} answered ${answer.status}`);
  return answer.json();
}

function drawCharts(charts) {
  const canvases = document.querySelectorAll("#charts canvas.perf");
  charts.forEach((chart, i) => { if (canvases[i]) window.consoleChart.drawChart(canvases[i], chart); });
}

async function pollPlan(summary, graph, tasks) {
  try {
    const state = await getJson(summary.dataset.liveUrl);
    if (state.status.length !== tasks.keys.length) {
      tasks = await getJson(summary.dataset.graphUrl);
    } else {
      tasks.status = state.status;
    }
    window.consoleGraph.drawGraph(graph, tasks);
    drawCharts(state.charts);
    window.consoleLive.updateSummary(summary, state.plan);
    if (ENDED.includes(state.plan.status)) return;
  } catch (error) {
    // The network or the backend is away for a moment: try again at the next tick.
  }
  setTimeout(() => pollPlan(summary, graph, tasks), POLL_MS);
}

document.addEventListener("DOMContentLoaded", async () => {
  const summary = document.getElementById("summary");
  const graph = document.getElementById("graph");
  window.consoleGraph.enableTaskLinks(graph);
  window.consoleGraph.enableKeyboard(graph, document.getElementById("graph-selection"));
  drawCharts(JSON.parse(document.getElementById("charts-data").textContent));
  const tasks = await getJson(summary.dataset.graphUrl);
  window.consoleGraph.drawGraph(graph, tasks);
  setTimeout(() => pollPlan(summary, graph, tasks), POLL_MS);
});
