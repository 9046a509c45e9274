// The workflow graph of a plan on a <canvas>: tasks by rank (columns) and worker organization
// (bands), coloured by status, edges from parents. Drawn in one pass over parallel arrays, so a
// 10,000-task plan draws in well under a second; a click opens the task under the pointer.
"use strict";

const STATUS_COLOURS = {
  STATUS_WAITING_FOR_BUILDER_SLOT: "#8a8a8a",
  STATUS_BUILDING: "#6b5ea8",
  STATUS_WAITING_FOR_PARENT_TASKS: "#b9b9b9",
  STATUS_WAITING_FOR_EXECUTOR_SLOT: "#d9a21b",
  STATUS_EXECUTING: "#1f6fd1",
  STATUS_DONE: "#1e8a3c",
  STATUS_FAILED: "#c62828",
  STATUS_CANCELED: "#5a3e2b",
};

const GRAPH = { labelWidth: 110, top: 24, gap: 10, maxWidth: 16000 };

function layoutGraph(data, width) {
  const n = data.keys.length;
  const ranks = n ? Math.max(...data.ranks) + 1 : 0;
  const bands = data.workers.length;
  // Columns fill the frame, at least 40 px wide unless that would pass GRAPH.maxWidth (browsers
  // draw nothing on a canvas over 32,767 px): a plan of 1,000 ranks scrolls, but is drawn.
  const fitting = Math.floor((width - GRAPH.labelWidth) / Math.max(ranks, 1));
  const narrowest = Math.max(1, Math.min(40, Math.floor(GRAPH.maxWidth / Math.max(ranks, 1))));
  const cellWidth = Math.max(narrowest, Math.min(400, fitting));
  const box = Math.min(n > 2000 ? 6 : n > 300 ? 10 : 16, Math.max(2, cellWidth - 2));
  const perRow = Math.max(1, Math.floor((cellWidth - 6) / box));
  // Tasks per (rank, worker) cell: their slot in the cell, and the tallest cell of each band.
  const slot = new Int32Array(n);
  const filled = new Map();
  const tallest = new Array(bands).fill(1);
  for (let i = 0; i < n; i++) {
    const cell = data.ranks[i] * bands + data.worker[i];
    const k = filled.get(cell) || 0;
    slot[i] = k;
    filled.set(cell, k + 1);
    tallest[data.worker[i]] = Math.max(tallest[data.worker[i]], k + 1);
  }
  const bandTop = [];
  let y = GRAPH.top;
  for (let b = 0; b < bands; b++) {
    bandTop.push(y);
    y += Math.ceil(tallest[b] / perRow) * box + GRAPH.gap * 2;
  }
  const x = new Float32Array(n);
  const yy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = GRAPH.labelWidth + data.ranks[i] * cellWidth + 3 + (slot[i] % perRow) * box;
    yy[i] = bandTop[data.worker[i]] + GRAPH.gap + Math.floor(slot[i] / perRow) * box;
  }
  return { n, ranks, bands, cellWidth, box, bandTop, height: y, x, y: yy };
}

function drawGraph(canvas, data) {
  const started = performance.now();
  const width = canvas.parentElement.clientWidth || 900;
  const layout = layoutGraph(data, width);
  canvas.width = Math.max(width, GRAPH.labelWidth + layout.ranks * layout.cellWidth);
  canvas.height = Math.max(layout.height, 60);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  drawBands(ctx, canvas, data, layout);
  drawEdges(ctx, data, layout);
  drawTasks(ctx, data, layout);
  canvas._layout = layout;
  canvas._data = data;
  drawSelection(ctx, canvas);
  window.consoleGraphDrawMs = performance.now() - started;
  canvas.dataset.drawnTasks = String(layout.n);
}

function drawBands(ctx, canvas, data, layout) {
  ctx.font = "12px sans-serif";
  ctx.fillStyle = "#222";
  for (let b = 0; b < layout.bands; b++) {
    const top = layout.bandTop[b];
    const bottom = b + 1 < layout.bands ? layout.bandTop[b + 1] : layout.height;
    ctx.fillStyle = b % 2 ? "#f4f6f8" : "#ffffff";
    ctx.fillRect(0, top, canvas.width, bottom - top);
    ctx.fillStyle = "#222";
    ctx.fillText(data.workers[b], 4, top + 16);
  }
  for (let r = 0; r < layout.ranks; r += Math.max(1, Math.ceil(layout.ranks / 40))) {
    ctx.fillText(String(r), GRAPH.labelWidth + r * layout.cellWidth + 3, 14);
  }
}

function drawEdges(ctx, data, layout) {
  const half = layout.box / 2;
  ctx.strokeStyle = "rgba(60, 60, 60, 0.25)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i < layout.n; i++) {
    for (const p of data.parents[i]) {
      ctx.moveTo(layout.x[p] + half, layout.y[p] + half);
      ctx.lineTo(layout.x[i] + half, layout.y[i] + half);
    }
  }
  ctx.stroke();
}

function drawTasks(ctx, data, layout) {
  const size = Math.max(2, layout.box - 2);
  // One fill style per status: batching by colour keeps state changes to eight.
  data.statuses.forEach((status, code) => {
    ctx.fillStyle = STATUS_COLOURS[status] || "#000";
    for (let i = 0; i < layout.n; i++) {
      if (data.status[i] === code) ctx.fillRect(layout.x[i], layout.y[i], size, size);
    }
  });
}

function taskAt(canvas, event) {
  const layout = canvas._layout;
  if (!layout) return -1;
  const rect = canvas.getBoundingClientRect();
  const px = (event.clientX - rect.left) * (canvas.width / rect.width);
  const py = (event.clientY - rect.top) * (canvas.height / rect.height);
  for (let i = 0; i < layout.n; i++) {
    if (px >= layout.x[i] && px < layout.x[i] + layout.box && py >= layout.y[i] && py < layout.y[i] + layout.box) return i;
  }
  return -1;
}

function enableTaskLinks(canvas) {
  const template = canvas.dataset.taskUrl;
  canvas.addEventListener("click", (event) => {
    const i = taskAt(canvas, event);
    if (i >= 0) window.location.href = template.replace("00000000-0000-0000-0000-000000000000", canvas._data.keys[i]);
  });
  canvas.addEventListener("mousemove", (event) => {
    const i = taskAt(canvas, event);
    canvas.style.cursor = i >= 0 ? "pointer" : "default";
    canvas.title = i >= 0 ? `task ${canvas._data.keys[i].slice(0, 8)}: rank ${canvas._data.ranks[i]}, ${canvas._data.statuses[canvas._data.status[i]]}` : "";
  });
}

// Keyboard: the graph takes the focus (Tab); arrow keys move from task to task (left and right
// along the graph's order, up and down to the previous or next organization's band at the same
// rank), Enter opens the task, and a live region says which task is selected.
function drawSelection(ctx, canvas) {
  const i = canvas._selected;
  if (i === undefined || i < 0 || i >= canvas._layout.n) return;
  ctx.strokeStyle = "#f59f00";
  ctx.lineWidth = 3;
  ctx.strokeRect(canvas._layout.x[i] - 3, canvas._layout.y[i] - 3, canvas._layout.box + 4, canvas._layout.box + 4);
}

function neighbour(data, i, key) {
  const n = data.keys.length;
  if (key === "ArrowRight") return Math.min(n - 1, i + 1);
  if (key === "ArrowLeft") return Math.max(0, i - 1);
  const step = key === "ArrowDown" ? 1 : -1;
  for (let j = i + step; j >= 0 && j < n; j += step) {
    if (data.ranks[j] !== data.ranks[i]) break;
    if (data.worker[j] !== data.worker[i]) return j;
  }
  return i;
}

function enableKeyboard(canvas, announce) {
  canvas.tabIndex = 0;
  canvas.addEventListener("keydown", (event) => {
    const data = canvas._data;
    if (!data || !data.keys.length) return;
    const i = canvas._selected === undefined ? -1 : canvas._selected;
    if (event.key === "Enter" && i >= 0) {
      window.location.href = canvas.dataset.taskUrl.replace("00000000-0000-0000-0000-000000000000", data.keys[i]);
      return;
    }
    if (!["ArrowRight", "ArrowLeft", "ArrowUp", "ArrowDown"].includes(event.key)) return;
    event.preventDefault();
    canvas._selected = i < 0 ? 0 : neighbour(data, i, event.key);
    drawGraph(canvas, data);
    const j = canvas._selected;
    announce.textContent = `task ${data.keys[j].slice(0, 8)}, rank ${data.ranks[j]}, ${data.workers[data.worker[j]]}, ${data.statuses[data.status[j]].slice(7).toLowerCase().replaceAll("_", " ")}; Enter opens it`;
  });
}

window.consoleGraph = { drawGraph, enableTaskLinks, enableKeyboard, STATUS_COLOURS };
