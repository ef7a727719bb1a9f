// gemini-meter dashboard: plain browser JavaScript, no build step. The token stays in
// this tab (sessionStorage) and is sent only as an Authorization header to this origin.
"use strict";

const $ = (id) => document.getElementById(id);
let nextCursor = null;

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

function rangeParams() {
  const p = new URLSearchParams();
  const sel = $("range").value;
  if (sel === "custom") {
    if ($("start").value) p.set("startDate", $("start").value);
    if ($("end").value) p.set("endDate", $("end").value);
  } else {
    const end = new Date();
    const start = new Date(end.getTime() - Number(sel) * 86400000);
    p.set("startDate", start.toISOString());
    p.set("endDate", end.toISOString());
  }
  return p;
}

async function api(path, params) {
  const url = "/api/api-usage/" + path + (params && [...params].length ? "?" + params : "");
  const res = await fetch(url, { headers: { Authorization: "Bearer " + $("token").value.trim() } });
  if (!res.ok) {
    let msg = res.status + " " + res.statusText;
    try { const j = await res.json(); if (j.error) msg = res.status + ": " + j.error.message; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return res;
}

const usd = (n) => "$" + Number(n).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 6 });
const int = (n) => Number(n).toLocaleString();

// Builds a table from rows of cells; every value goes in as text, never as HTML.
function fillTable(table, headers, rows, numeric) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  headers.forEach((h, i) => {
    const th = document.createElement("th");
    th.textContent = h;
    if (numeric.includes(i)) th.className = "num";
    head.appendChild(th);
  });
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((v, i) => {
      const td = tr.insertCell();
      td.textContent = v;
      if (numeric.includes(i)) td.className = "num";
    });
  }
  if (rows.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = headers.length;
    td.textContent = "no data";
  }
}

function groupTable(table, title, groups) {
  const rows = Object.entries(groups)
    .sort((a, b) => b[1].costPicoUSD - a[1].costPicoUSD)
    .map(([k, g]) => [k, int(g.calls), int(g.failedCalls), int(g.inputTokens), int(g.outputTokens), usd(g.costUSD)]);
  fillTable(table, [title, "Calls", "Failed", "Input tokens", "Output tokens", "Cost"], rows, [1, 2, 3, 4, 5]);
}

function recentRows(calls) {
  return calls.map((c) => [c.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z"), c.userEmail || c.userId || "guest",
    c.endpoint, c.model, c.botId || "", int(c.totalTokens), usd(c.estimatedCostUSD), int(c.durationMs) + " ms",
    c.success ? "ok" : (c.httpStatus || "") + " " + (c.errorMessage || "failed")]);
}

const recentHeaders = ["Time (UTC)", "User", "Endpoint", "Model", "Bot", "Tokens", "Cost", "Duration", "Result"];

async function loadRecent(append) {
  const p = new URLSearchParams({ limit: "25" });
  if (append && nextCursor) p.set("before", nextCursor);
  const j = await (await api("recent", p)).json();
  const table = $("t-recent");
  const rows = recentRows(j.recentCalls);
  if (append && table.tBodies.length) {
    const body = table.tBodies[0];
    for (const r of rows) {
      const tr = body.insertRow();
      r.forEach((v, i) => { const td = tr.insertCell(); td.textContent = v; if ([5, 6, 7].includes(i)) td.className = "num"; });
    }
  } else {
    fillTable(table, recentHeaders, rows, [5, 6, 7]);
  }
  nextCursor = j.nextCursor;
  $("older").hidden = !nextCursor;
}

async function load() {
  if (!$("token").value.trim()) { setStatus("Enter the admin token first.", true); return; }
  sessionStorage.setItem("gm-token", $("token").value.trim());
  setStatus("Loading…");
  try {
    const p = rangeParams();
    const [stats, daily, users, proj] = await Promise.all([
      api("stats", p).then((r) => r.json()),
      api("daily", p).then((r) => r.json()),
      api("top-users", p).then((r) => r.json()),
      api("projections").then((r) => r.json()),
    ]);
    const s = stats.stats;
    $("c-cost").textContent = usd(s.totalCostUSD);
    $("c-calls").textContent = int(s.totalCalls);
    $("c-tokens").textContent = int(s.totalTokens);
    $("c-duration").textContent = int(s.averageDurationMs) + " ms";
    $("c-failed").textContent = int(s.failedCalls);
    $("c-guests").textContent = int(s.guestCalls) + " / " + int(s.registeredCalls);
    $("p-text").textContent = "Average " + usd(proj.daily.avgCost) + " and " + proj.daily.avgCalls +
      " calls per day → about " + usd(proj.monthly.projectedCost) + " and " + int(proj.monthly.projectedCalls) +
      " calls in 30 days.";
    groupTable($("t-model"), "Model", s.byModel);
    groupTable($("t-endpoint"), "Endpoint", s.byEndpoint);
    groupTable($("t-bot"), "Bot", s.byBot);
    fillTable($("t-users"), ["User", "Email", "Calls", "Tokens", "Cost"],
      users.topUsers.map((u) => [u.userId, u.email || "", int(u.calls), int(u.totalTokens), usd(u.costUSD)]), [2, 3, 4]);
    fillTable($("t-daily"), ["Date", "Calls", "Failed", "Input tokens", "Output tokens", "Cost"],
      daily.daily.slice().reverse().map((d) => [d.date, int(d.calls), int(d.failedCalls), int(d.inputTokens),
        int(d.outputTokens), usd(d.costUSD)]), [1, 2, 3, 4, 5]);
    await loadRecent(false);
    setStatus("Updated " + new Date().toLocaleTimeString());
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function exportCsv() {
  try {
    const p = rangeParams();
    p.set("format", "csv");
    const blob = await (await api("export", p)).blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "api-usage.csv";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    setStatus(e.message, true);
  }
}

$("range").addEventListener("change", () => { $("custom").hidden = $("range").value !== "custom"; });
$("load").addEventListener("click", load);
$("export").addEventListener("click", exportCsv);
$("older").addEventListener("click", () => loadRecent(true).catch((e) => setStatus(e.message, true)));
$("token").addEventListener("keydown", (e) => { if (e.key === "Enter") load(); });
// A link may carry the token and a range in the fragment (never sent to the server):
// /dashboard#token=...&start=2024-11-01&end=2024-11-30. It is removed from the address bar.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("start") || fragment.get("end")) {
  $("range").value = "custom";
  $("custom").hidden = false;
  $("start").value = fragment.get("start") || "";
  $("end").value = fragment.get("end") || "";
}
if (fragment.get("token")) sessionStorage.setItem("gm-token", fragment.get("token"));
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const saved = sessionStorage.getItem("gm-token");
if (saved) { $("token").value = saved; load(); }
