// streamgate dashboard: polls the admin listener's JSON API and /metrics every 2 s. Every request goes to
// this listener (the page is served with Content-Security-Policy default-src 'self').
"use strict";

const POLL_MS = 2000;
const HISTORY = 150;  // samples kept per chart: 5 minutes at 2 s

// The lists the API may offer; a process serves some of them (404: not this process).
const LISTS = [
  { title: "SOCKS sessions", path: "/api/v1/socks/sessions" },
  { title: "RTSP mounts", path: "/api/v1/rtsp/mounts" },
  { title: "RTSP players", path: "/api/v1/rtsp/players" },
  { title: "ALG media relays", path: "/api/v1/alg/relays" },
  { title: "Relay calls", path: "/api/v1/relay/calls" },
  { title: "TURN allocations", path: "/api/v1/turn/allocations" },
];
const ID_KEYS = ["id", "call_id", "call-id"];

// Chart series from /metrics: counters become per-second rates, gauges are shown as they are.
const CHARTS = {
  throughput: { element: "chart-throughput", rate: true, scale: 8, match: (name) => /_bytes(_relayed)?_total$/.test(name) },
  active: { element: "chart-active", rate: false, scale: 1,
            match: (name) => /(_active|_in_use|^streamgate_relay_calls|^streamgate_turn_allocations|^streamgate_serve_sessions)$/.test(name) },
  loss: { element: "chart-loss", rate: true, scale: 1, match: (name) => /_(dropped|lost)(_packets)?_total$/.test(name) },
};

const state = { previous: null, series: {}, plots: {}, times: [] };

function token() {
  let t = sessionStorage.getItem("streamgate-token");
  if (!t) {
    t = window.prompt("Admin token (the API changes nothing without it)");
    if (t) sessionStorage.setItem("streamgate-token", t);
  }
  return t;
}

function showError(text) {
  document.getElementById("error").textContent = text || "";
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

// The rows of a list answer: its first array-valued field ({"total":..,"calls":[...]}), or the answer itself.
function rowsOf(answer) {
  if (Array.isArray(answer)) return { rows: answer, total: answer.length };
  for (const value of Object.values(answer)) {
    if (Array.isArray(value)) return { rows: value, total: answer.total ?? value.length };
  }
  return { rows: [], total: 0 };
}

function cellText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// Nested values (a call's legs, say) are cut short in the cell; the whole text is in its tooltip.
const CELL_MAX = 60;
function fillCell(td, value) {
  const text = cellText(value);
  td.textContent = text.length > CELL_MAX ? text.slice(0, CELL_MAX) + "\u2026" : text;
  if (text.length > CELL_MAX) td.title = text;
  if (typeof value === "number") td.className = "num";
}

async function endRow(list, id) {
  const t = token();
  if (!t) return;
  const response = await fetch(`${list.path}/${encodeURIComponent(id)}`,
                               { method: "DELETE", headers: { Authorization: `Bearer ${t}` } });
  if (response.status === 401 || response.status === 403) sessionStorage.removeItem("streamgate-token");
  if (!response.ok) showError(`end ${id}: ${response.status} ${await response.text()}`);
  await refreshLists();
}

function renderList(list, answer) {
  const id = "list-" + list.path.replace(/[^a-z]/g, "-");
  let section = document.getElementById(id);
  if (answer === null) {
    if (section) section.remove();
    return;
  }
  if (!section) {
    section = document.createElement("section");
    section.id = id;
    section.className = "list";
    document.getElementById("tables").appendChild(section);
  }
  const { rows, total } = rowsOf(answer);
  const columns = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const idKey = ID_KEYS.find((k) => columns.includes(k));
  const heading = document.createElement("h2");
  heading.textContent = `${list.title} (${total})`;
  const table = document.createElement("table");
  table.dataset.path = list.path;
  table.dataset.count = String(rows.length);
  const head = table.createTHead().insertRow();
  for (const column of columns) head.appendChild(document.createElement("th")).textContent = column;
  if (idKey) head.appendChild(document.createElement("th"));
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const column of columns) {
      fillCell(tr.insertCell(), row[column]);
    }
    if (idKey) {
      const button = document.createElement("button");
      button.className = "end";
      button.textContent = "end";
      button.dataset.id = cellText(row[idKey]);
      button.addEventListener("click", () => endRow(list, row[idKey]));
      tr.insertCell().appendChild(button);
    }
  }
  section.replaceChildren(heading, table);
}

async function refreshLists() {
  for (const list of LISTS) {
    try {
      renderList(list, await getJson(list.path));
    } catch (e) {
      showError(String(e));
    }
  }
}

// Prometheus text exposition: the sum of each metric's samples over its labels.
function parseMetrics(text) {
  const sums = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sums[match[1]] = (sums[match[1]] || 0) + value;
  }
  return sums;
}

// 1234567 -> "1.2M": axis labels that fit.
function si(value) {
  const abs = Math.abs(value);
  for (const [limit, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (abs >= limit) return (value / limit).toFixed(abs >= 10 * limit ? 0 : 1) + suffix;
  }
  return String(Math.round(value * 100) / 100);
}

function ensurePlot(key, names) {
  const chart = CHARTS[key];
  const existing = state.plots[key];
  if (existing && existing.names.join() === names.join()) return existing.plot;
  if (existing) existing.plot.destroy();
  const element = document.getElementById(chart.element);
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
  const plot = new uPlot({
    width: element.clientWidth || 420, height: 180,
    series: [{}, ...names.map((name, i) => ({ label: name.replace(/^streamgate_/, ""), stroke: colours[i % colours.length] }))],
    axes: [{}, { size: 60, values: (u, values) => values.map(si) }],
    legend: { show: names.length <= 4 },
  }, [[]].concat(names.map(() => [])), element);
  state.plots[key] = { plot, names };
  return plot;
}

async function refreshCharts() {
  const response = await fetch("/metrics", { cache: "no-store" });
  if (!response.ok) return;
  const now = Date.now() / 1000;
  const sums = parseMetrics(await response.text());
  const previous = state.previous;
  state.previous = { time: now, sums };
  if (!previous) return;
  const elapsed = now - previous.time;
  state.times.push(now);
  if (state.times.length > HISTORY) state.times.shift();
  for (const [key, chart] of Object.entries(CHARTS)) {
    const names = Object.keys(sums).filter(chart.match).sort();
    if (names.length === 0) continue;
    const series = state.series[key] || (state.series[key] = {});
    for (const name of names) {
      const values = series[name] || (series[name] = []);
      const value = chart.rate ? Math.max(0, (sums[name] - (previous.sums[name] ?? sums[name])) / elapsed) : sums[name];
      values.push(value * chart.scale);
      while (values.length < state.times.length) values.unshift(null);
      while (values.length > state.times.length) values.shift();
    }
    const plot = ensurePlot(key, names);
    plot.setData([state.times.slice(), ...names.map((name) => series[name].slice())]);
    document.getElementById(chart.element).dataset.points = String(state.times.length);
  }
}

async function refreshStatus() {
  const status = await getJson("/api/v1/status");
  if (!status) return;
  const parts = [];
  if (status.version) parts.push(`version ${status.version}`);
  if (status.uptime_s !== undefined) parts.push(`up ${Math.round(status.uptime_s)} s`);
  for (const [key, value] of Object.entries(status)) {
    if (typeof value === "number" && key !== "uptime_s") parts.push(`${key} ${value}`);
  }
  document.getElementById("status").textContent = parts.join(" \u00b7 ");
}

async function tick() {
  try {
    await Promise.all([refreshStatus(), refreshLists(), refreshCharts()]);
    showError("");
    document.getElementById("refreshed").textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.ticks = String(Number(document.body.dataset.ticks || 0) + 1);
  } catch (e) {
    showError(String(e));
  }
  setTimeout(tick, POLL_MS);
}

tick();
