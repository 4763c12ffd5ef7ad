// The review page: open a region and a rule file, edit rule values, re-solve one county, see its map, checks and diff.
"use strict";

const WORDS = {
  title: ["医共体规划评审", "Medical community review"],
  subtitle: ["编辑规则取值，重新求解一个县，查看地图、核查结果与变化", "Edit rule values, re-solve one county, see its map, checks and what changed"],
  region: ["地区", "Region"], rulefile: ["规则文件", "Rule file"], open: ["打开", "Open"],
  unit: ["县（市、区）", "County"], scope: ["修改适用于", "Changes apply to"],
  scope_unit: ["仅本县", "this county only"], scope_all: ["所有县", "every county"],
  rules: ["规则", "Rules"], solve: ["应用并重新求解", "Apply and re-solve"], reset: ["撤销全部修改", "Undo all edits"],
  result: ["求解结果", "Result"], rule: ["规则", "Rule"], state: ["状态", "Status"], violations: ["违反", "Violations"],
  diff: ["与上次求解相比", "Since the previous solve"], save: ["保存规则文件", "Save the rule file"],
  filename: ["文件名", "File name"], save_button: ["保存", "Save"], map: ["地图", "Map"], diffmap: ["变化地图", "Diff map"],
  busy: ["正在求解…", "Solving…"], region_wide: ["全地区适用（派驻、血透规则不分县）", "applies region-wide (service rules are not per county)"],
  no_edits: ["尚未修改规则", "No edits yet"], edits: ["已修改", "Edited"], saved: ["已保存到", "Saved to"],
  first: ["首次求解，暂无对比", "First solve: nothing to compare yet"],
  communities: ["个医共体", "communities"], hard: ["硬性规则违反", "hard-rule violations"], solved_in: ["求解用时", "solved in"],
};
let lang = "zh";
let current = null;      // the workspace view
let lastSolve = null;    // the last solve shown

const $ = (id) => document.getElementById(id);
const word = (key) => (WORDS[key] || [key, key])[lang === "zh" ? 0 : 1];

function translate() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = word(el.dataset.t); });
  $("lang").textContent = lang === "zh" ? "English" : "中文";
}

async function api(path, body) {
  const init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify({...body, lang})};
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) {
    const err = new Error((data.error || ["error"]).join("\n"));
    err.lines = data.error || [];
    throw err;
  }
  return data;
}

function showError(err) {
  const box = $("errors");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = err.lines && err.lines.length ? err.lines.join("\n") : String(err.message || err);
}

function busy(on) {
  $("busy").hidden = !on;
  for (const id of ["solve", "open", "save", "reset"]) $(id).disabled = on;
}

function scope() { return document.querySelector("input[name=scope]:checked").value; }

function renderForm(view) {
  current = view;
  const form = $("form");
  form.replaceChildren();
  for (const rule of view.form) {
    const box = document.createElement("div");
    box.className = "rule";
    box.dataset.rule = rule.id;
    const h = document.createElement("h3");
    h.textContent = rule.id + " ";
    const cite = document.createElement("span");
    cite.className = "cite";
    cite.textContent = `(${rule.citation}) ${rule.heading}`;
    h.append(cite);
    box.append(h);
    if (!rule.per_unit && scope() === "unit") {
      const note = document.createElement("div");
      note.className = "note";
      note.textContent = word("region_wide");
      box.append(note);
    }
    if (rule.counties.length) {
      const note = document.createElement("div");
      note.className = "note";
      note.textContent = "counties = " + JSON.stringify(rule.counties);
      box.append(note);
    }
    const grid = document.createElement("div");
    grid.className = "kv";
    for (const v of rule.values) {
      const label = document.createElement("label");
      label.textContent = v.key;
      label.htmlFor = `f-${rule.id}-${v.key}`;
      const input = document.createElement("input");
      input.id = `f-${rule.id}-${v.key}`;
      input.name = v.key;
      input.value = v.text;
      input.dataset.orig = v.text;
      input.dataset.rule = rule.id;
      input.title = v.doc || v.key;
      input.addEventListener("input", () => input.classList.toggle("changed", input.value !== input.dataset.orig));
      grid.append(label, input);
    }
    box.append(grid);
    form.append(box);
  }
  $("edits").textContent = view.edited ? `${word("edits")}: ` + view.edits.map((e) => e.id + (e.counties ? " " + JSON.stringify(e.counties) : "")).join(", ")
                                       : word("no_edits");
  if (!$("savename").value) $("savename").value = view.target;
  $("form-box").hidden = false;
  $("save-box").hidden = false;
}

function renderUnits(view) {
  const select = $("unit");
  const keep = select.value;
  select.replaceChildren();
  for (const u of view.units) {
    const o = document.createElement("option");
    o.value = u.id;
    o.textContent = `${u.name} (${u.id})`;
    select.append(o);
  }
  if (keep && view.units.some((u) => u.id === keep)) select.value = keep;
  $("unit-box").hidden = false;
}

function renderSolve(s) {
  lastSolve = s;
  const sum = s.summary;
  const status = Object.entries(s.status).map(([k, n]) => `${k} ${n}`).join(", ");
  $("summary").textContent = `${sum.region}: ${status}; ${sum.communities} ${word("communities")}; ` +
    `${word("hard")} ${sum.hard_violations}; ${word("solved_in")} ${s.solve_s.toFixed(2)} s`;
  const body = $("checks").querySelector("tbody");
  body.replaceChildren();
  for (const c of s.checks) {
    const tr = document.createElement("tr");
    for (const [text, cls] of [[c.rule_id, ""], [c.status, c.status], [String(c.violations), ""]]) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    body.append(tr);
  }
  const list = $("violations");
  list.replaceChildren();
  for (const line of s.explanations.concat(s.violations.map((v) => `${v.rule_id}: ${v.message}`))) {
    const li = document.createElement("li");
    li.textContent = line;
    list.append(li);
  }
  $("result-box").hidden = false;
  $("diff").textContent = s.diff ? s.diff.lines.join("\n") : word("first");
  $("diff-box").hidden = false;
  $("map").src = `${s.map}?lang=${lang}`;
  if (s.diff_map) { $("diffmap").src = `${s.diff_map}?lang=${lang}`; } else { $("diffmap").removeAttribute("src"); }
  $("tab-diff").disabled = !s.diff_map;
}

async function openRegion() {
  showError(null);
  busy(true);
  try {
    const view = await api("/api/open", {region: $("region").value, rules: $("rulefile").value});
    $("savename").value = view.target;
    renderUnits(view);
    await loadForm();
    await solve();
  } catch (err) { showError(err); } finally { busy(false); }
}

async function loadForm() {
  const unit = scope() === "unit" ? $("unit").value : "";
  renderForm(await api(`/api/view?unit=${encodeURIComponent(unit)}&lang=${lang}`));
}

async function solve() {
  const s = await api("/api/solve", {unit: $("unit").value});
  renderSolve(s);
}

async function applyAndSolve() {
  showError(null);
  busy(true);
  try {
    const changed = {};
    for (const input of $("form").querySelectorAll("input")) {
      if (input.value !== input.dataset.orig) {
        (changed[input.dataset.rule] = changed[input.dataset.rule] || {})[input.name] = input.value;
      }
    }
    const unit = scope() === "unit" ? $("unit").value : null;
    let view = null;
    for (const [ruleId, values] of Object.entries(changed)) {
      view = await api("/api/edit", {rule_id: ruleId, unit, values});
    }
    if (view) renderForm(view);
    await solve();
  } catch (err) { showError(err); } finally { busy(false); }
}

async function resetEdits() {
  showError(null);
  busy(true);
  try {
    await api("/api/reset", {});
    await loadForm();
    await solve();
  } catch (err) { showError(err); } finally { busy(false); }
}

async function saveRules() {
  showError(null);
  busy(true);
  try {
    const r = await api("/api/save", {name: $("savename").value});
    $("saved").textContent = `${word("saved")} ${r.path}`;
    const options = await api("/api/options");
    fillRuleFiles(options.rules, $("rulefile").value);
  } catch (err) { showError(err); } finally { busy(false); }
}

function fillRuleFiles(rules, keep) {
  const select = $("rulefile");
  select.replaceChildren();
  for (const r of rules) {
    const o = document.createElement("option");
    o.value = r.value;
    o.textContent = r.kind === "builtin" ? r.label : `${r.label} (${r.kind})`;
    select.append(o);
  }
  if (keep) select.value = keep;
}

function tab(which) {
  $("map").hidden = which !== "map";
  $("diffmap").hidden = which !== "diff";
  $("tab-map").classList.toggle("on", which === "map");
  $("tab-diff").classList.toggle("on", which === "diff");
}

async function init() {
  const options = await api("/api/options");
  lang = options.lang === "en" ? "en" : "zh";
  translate();
  const list = $("regions");
  for (const name of options.regions) {
    const o = document.createElement("option");
    o.value = name;
    list.append(o);
  }
  $("region").value = options.region;
  fillRuleFiles(options.rules, "zhejiang-2026");
  $("open").addEventListener("click", openRegion);
  $("solve").addEventListener("click", applyAndSolve);
  $("reset").addEventListener("click", resetEdits);
  $("save").addEventListener("click", saveRules);
  $("unit").addEventListener("change", async () => {
    showError(null); busy(true);
    try { await loadForm(); await solve(); } catch (err) { showError(err); } finally { busy(false); }
  });
  for (const radio of document.querySelectorAll("input[name=scope]")) {
    radio.addEventListener("change", async () => { try { await loadForm(); } catch (err) { showError(err); } });
  }
  $("tab-map").addEventListener("click", () => tab("map"));
  $("tab-diff").addEventListener("click", () => tab("diff"));
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    translate();
    if (lastSolve) renderSolve(lastSolve);
  });
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", () => { init().catch(showError); });
