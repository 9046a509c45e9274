// A performance chart on a <canvas>: one line per organization and a thick dashed one for their
// average, by round. The values are also in the table after each chart.
"use strict";

const SERIES_COLOURS = ["#1f6fd1", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#5c940d"];

function drawChart(canvas, chart) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 56, right = 150, top = 12, bottom = 32;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  const values = chart.series.flatMap((s) => s.values).filter((v) => v !== null);
  if (!values.length) return;
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi === lo) { hi += 0.5; lo -= 0.5; }
  const n = chart.rounds.length;
  const xOf = (i) => left + (n > 1 ? (i * (w - left - right)) / (n - 1) : (w - left - right) / 2);
  const yOf = (v) => top + ((hi - v) * (h - top - bottom)) / (hi - lo);
  drawAxes(ctx, chart, { w, h, left, right, top, bottom, lo, hi, xOf, yOf });
  chart.series.forEach((s, k) => drawLine(ctx, s.values, xOf, yOf, SERIES_COLOURS[k % SERIES_COLOURS.length], 2, []));
  drawLine(ctx, chart.average, xOf, yOf, "#111", 3, [6, 4]);
  drawLegend(ctx, chart, w - right + 12, top + 8);
}

function drawAxes(ctx, chart, g) {
  ctx.strokeStyle = "#555";
  ctx.fillStyle = "#222";
  ctx.font = "11px sans-serif";
  ctx.beginPath();
  ctx.moveTo(g.left, g.top);
  ctx.lineTo(g.left, g.h - g.bottom);
  ctx.lineTo(g.w - g.right, g.h - g.bottom);
  ctx.stroke();
  for (let t = 0; t <= 4; t++) {
    const v = g.lo + ((g.hi - g.lo) * t) / 4;
    ctx.fillText(v.toFixed(3), 4, g.yOf(v) + 4);
  }
  const step = Math.max(1, Math.ceil(chart.rounds.length / 12));
  chart.rounds.forEach((round, i) => { if (i % step === 0) ctx.fillText(String(round), g.xOf(i) - 3, g.h - g.bottom + 14); });
  ctx.fillText("round", (g.w - g.right) / 2, g.h - 4);
}

function drawLine(ctx, values, xOf, yOf, colour, width, dash) {
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    if (pen) ctx.lineTo(xOf(i), yOf(v)); else ctx.moveTo(xOf(i), yOf(v));
    pen = true;
  });
  ctx.stroke();
  ctx.setLineDash([]);
}

function drawLegend(ctx, chart, x, y) {
  ctx.font = "12px sans-serif";
  const entries = chart.series.map((s, k) => [s.name, SERIES_COLOURS[k % SERIES_COLOURS.length]]);
  entries.push(["average", "#111"]);
  entries.forEach(([name, colour], k) => {
    ctx.fillStyle = colour;
    ctx.fillRect(x, y + k * 18, 14, 4);
    ctx.fillStyle = "#222";
    ctx.fillText(name, x + 20, y + k * 18 + 6);
  });
}

window.consoleChart = { drawChart };
