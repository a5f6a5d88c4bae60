// zhibiao review page: search-as-you-type, the review queue with one key per decision, clusters.
// All data goes into the page through textContent, never innerHTML, so document text cannot inject markup.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";
const CHOICES = ["11", "12", "13", "14", "21", "22", "23", "24", "31"];
const NAMES = {
  "11": "数量指标", "12": "质量指标", "13": "时效指标", "14": "成本指标", "21": "经济效益指标",
  "22": "社会效益指标", "23": "生态效益指标", "24": "可持续影响指标", "31": "服务对象满意度指标",
  "PR": "过程指标（非绩效）",
};

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (init.method && init.method !== "GET") {
    init.headers = { ...init.headers, "Content-Type": "application/json", "X-CSRF-Token": CSRF };
  }
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body?.error?.message || `HTTP ${response.status}`);
    error.code = body?.error?.code;
    throw error;
  }
  return body;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function toast(message, kind = "") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = `show ${kind}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.className = ""; }, 3500);
}

function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function pct(p) { return `${Math.round(p * 100)}%`; }

function setBar(span, p) { span.style.width = pct(p); }

async function fillDepartments(select, onChange) {
  try {
    for (const name of await api("/api/departments")) select.append(new Option(name, name));
  } catch (e) { toast(e.message, "error"); }
  select.addEventListener("change", onChange);
}

// -------------------------------------------------------------------------------------------- search

function renderSuggestion(box, s) {
  box.replaceChildren();
  box.hidden = false;
  if (s.process_probability !== null && s.process_probability >= 0.5) {
    box.append(el("div", `很可能是过程指标（非绩效） ${pct(s.process_probability)}`, "process"));
    box.append(el("div", "衡量预算执行/资金到位/支出合规；若保留，最接近的类别是：", "label"));
  } else {
    box.append(el("div", "建议类别", "label"));
  }
  box.append(el("div", `${s.l1} / ${s.l2}`, "cat"));
  const prob = el("div", null, "prob");
  const bar = el("div", null, "bar");
  const fill = el("span");
  setBar(fill, s.confidence);
  bar.append(fill);
  prob.append(bar, el("span", pct(s.confidence)));
  box.append(prob, el("p", s.reason, "reason"));
  const top = el("ol", null, "top");
  for (const t of s.top) top.append(el("li", `${t.name} ${pct(t.p)}`));
  box.append(top);
}

function listIndicators(title, items, total) {
  const matches = document.getElementById("matches");
  matches.replaceChildren();
  matches.append(el("li", `${title}：${total} 条`, "label"));
  for (const item of items) {
    const li = el("li");
    const a = el("a", item.name);
    a.href = `/indicators/${item.id}`;
    li.append(a, el("span", ` ${item.declared.l2 || item.declared.l1} · ${item.department}`, "muted"));
    if (item.disagreement) li.append(el("span", "意见不一", "badge warn"));
    else if (item.decision) li.append(el("span", `已决：${item.decision.code_name || "跳过"}`, "badge ok"));
    matches.append(li);
  }
}

function initSearch() {
  const input = document.getElementById("search");
  const valueInput = document.getElementById("search-value");
  const box = document.getElementById("suggestion");
  const matches = document.getElementById("matches");
  let serial = 0;
  const run = debounce(async () => {
    const name = input.value.trim();
    const mine = ++serial;
    if (!name) { box.hidden = true; matches.replaceChildren(); return; }
    const query = new URLSearchParams({ name, value: valueInput.value.trim() });
    try {
      const [s, found] = await Promise.all([
        api(`/api/suggest?${query}`),
        api(`/api/indicators?${new URLSearchParams({ q: name, size: "8" })}`),
      ]);
      if (mine !== serial) return; // an older answer arriving late must not overwrite a newer one
      renderSuggestion(box, s);
      listIndicators("库中相关指标", found.items, found.total);
    } catch (e) { toast(e.message, "error"); }
  }, 180);
  input.addEventListener("input", run);
  valueInput.addEventListener("input", run);
  document.getElementById("show-disputed").addEventListener("click", async () => {
    try {
      const found = await api("/api/indicators?disputed=true&size=50");
      listIndicators("意见不一的指标", found.items, found.total);
    } catch (e) { toast(e.message, "error"); }
  });
}

// --------------------------------------------------------------------------------------------- queue

const state = { items: [], current: null, done: [], busy: false };

function field(name) { return document.querySelector(`#card [data-f="${name}"]`); }

function showItem(item) {
  const card = document.getElementById("card");
  const empty = document.getElementById("empty");
  state.current = item;
  card.hidden = !item;
  empty.hidden = !!item;
  if (!item) return;
  field("department").textContent = item.department || "（未注明部门）";
  field("project").textContent = item.project;
  field("doc").textContent = item.doc;
  field("name").textContent = item.name;
  field("value").textContent = item.value || "（空）";
  field("description").textContent = item.description;
  field("goal").textContent = item.goal || "（无）";
  field("declared").textContent = `${item.declared.l1 || "—"} / ${item.declared.l2 || "—"}`;
  const s = item.suggestion;
  const flag = item.flag;
  const suggested = flag ? flag.suggested_code : s?.code;
  field("suggested").textContent = suggested === "PR" ? NAMES.PR
    : s && suggested === s.code ? `${s.l1} / ${s.l2}` : NAMES[suggested] || "—";
  if (suggested === "PR" && flag) {
    // A process item is the audit's finding, not one of the model's leaves: show its score.
    setBar(field("bar"), flag.score);
    field("prob").textContent = `过程指标判定分值 ${pct(flag.score)}；若保留，模型最可能的类别：`;
  } else {
    setBar(field("bar"), s ? s.confidence : 0);
    field("prob").textContent = s ? `模型概率 ${pct(s.confidence)}` : "";
  }
  field("reason").textContent = s ? s.reason : "";
  const top = field("top");
  top.replaceChildren();
  for (const t of s?.top || []) top.append(el("li", `${t.name} ${pct(t.p)}`));
  field("score").textContent = flag ? `分值 ${flag.score.toFixed(2)}` : "";
  const reasons = field("reasons");
  reasons.replaceChildren();
  for (const r of flag?.reasons || []) reasons.append(el("li", r.label));
  field("explanation").textContent = flag?.explanation || "";
  document.getElementById("comment").value = "";
  renderUpNext();
}

function renderUpNext() {
  const list = document.getElementById("upnext");
  list.replaceChildren();
  for (const item of state.items.slice(0, 6)) {
    const li = el("li");
    li.append(el("span", item.name), el("span", ` ${item.department} · ${pct(item.flag?.score || 0)}`, "muted"));
    list.append(li);
  }
  if (!state.items.length) list.append(el("li", "（无）", "muted"));
}

function showCounts(counts) {
  for (const [key, value] of Object.entries(counts)) {
    const node = document.querySelector(`[data-count="${key}"]`);
    if (node) node.textContent = value;
  }
}

async function loadQueue() {
  const department = document.getElementById("department").value;
  const data = await api(`/api/queue?${new URLSearchParams({ department, size: "25" })}`);
  showCounts(data.counts);
  state.items = data.items;
  showItem(state.items.shift() || null);
}

async function decide(action, code = "") {
  if (state.busy) return;
  const item = action === "undo" ? state.done[state.done.length - 1] : state.current;
  if (!item) { toast(action === "undo" ? "没有可撤销的决定" : "队列已清空"); return; }
  state.busy = true;
  try {
    const comment = action === "undo" ? "" : document.getElementById("comment").value.trim();
    const saved = await api("/api/decisions", {
      method: "POST",
      body: JSON.stringify({ indicator_id: item.id, action, code, comment }),
    });
    if (action === "undo") {
      state.done.pop();
      toast(`已撤销「${item.name}」的决定`);
      await loadQueue();
    } else {
      state.done.push(item);
      const what = saved.code_after ? `${saved.code_name}` : "跳过";
      toast(`已记录：${item.name} → ${what}（按 u 撤销）`, "ok");
      if (!state.items.length) await loadQueue();
      else {
        showItem(state.items.shift());
        showCounts(await api(`/api/counts?${new URLSearchParams({ department: document.getElementById("department").value })}`));
      }
    }
  } catch (e) {
    toast(e.message, "error");
  } finally {
    state.busy = false;
  }
}

// One key per decision; buttons inside ``scope`` do the same. Keys are ignored while typing in a field.
function bindDecisions(scope, onDecide) {
  scope.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => onDecide(b.dataset.action)));
  scope.querySelectorAll("[data-code]").forEach((b) => b.addEventListener("click", () => onDecide("choose", b.dataset.code)));
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
    if (typing) { if (event.key === "Escape") target.blur(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    const actions = { a: "accept", k: "keep", p: "process", s: "skip", u: "undo" };
    if (actions[key] && (key !== "a" || scope.querySelector('[data-action="accept"]'))) { event.preventDefault(); onDecide(actions[key]); }
    else if (/^[1-9]$/.test(key)) { event.preventDefault(); onDecide("choose", CHOICES[Number(key) - 1]); }
    else if (key === "/" && document.getElementById("search")) { event.preventDefault(); document.getElementById("search").focus(); }
  });
}

function initQueue() {
  fillDepartments(document.getElementById("department"), () => loadQueue().catch((e) => toast(e.message, "error")));
  bindDecisions(document.getElementById("card"), decide);
  loadQueue().catch((e) => toast(e.message, "error"));
}

function initIndicator() {
  const box = document.getElementById("decide");
  const id = Number(box.dataset.indicator);
  bindDecisions(box, async (action, code = "") => {
    try {
      const comment = action === "undo" ? "" : document.getElementById("comment").value.trim();
      await api("/api/decisions", { method: "POST", body: JSON.stringify({ indicator_id: id, action, code, comment }) });
      window.location.reload();
    } catch (e) { toast(e.message, "error"); }
  });
}

// ------------------------------------------------------------------------------------------ clusters

function renderDiff(container, diff) {
  // Diffs come as text with [-deleted-] and {+inserted+} marks.
  const pattern = /\[-(.*?)-\]|\{\+(.*?)\+\}/g;
  let last = 0;
  for (const match of diff.matchAll(pattern)) {
    container.append(document.createTextNode(diff.slice(last, match.index)));
    container.append(match[1] !== undefined ? el("del", match[1]) : el("ins", match[2]));
    last = match.index + match[0].length;
  }
  container.append(document.createTextNode(diff.slice(last)));
}

const LEVEL_NAMES = { goals: "绩效目标", indicators: "绩效指标", sets: "指标集" };

async function loadClusters(page) {
  const level = document.getElementById("level").value;
  const department = document.getElementById("department").value;
  const data = await api(`/api/clusters?${new URLSearchParams({ level, department, page: String(page), size: "10" })}`);
  document.getElementById("cluster-total").textContent = data.total;
  document.getElementById("pageno").textContent = `第 ${page} 页 / 共 ${Math.max(1, Math.ceil(data.total / 10))} 页`;
  document.getElementById("prev").disabled = page <= 1;
  document.getElementById("next").disabled = page * 10 >= data.total;
  const box = document.getElementById("clusters");
  box.replaceChildren();
  for (const c of data.items) {
    const section = el("section", null, "card cluster");
    const head = el("header");
    head.append(el("span", LEVEL_NAMES[c.level] || c.level, "badge"),
      el("strong", ` ${c.size} 处`), el("span", ` · 平均相似度 ${pct(c.mean_similarity)} · 涉及 ${c.departments.length} 个部门：${c.departments.join("、")}`, "muted"));
    section.append(head, el("p", c.representative, "representative"));
    const grid = el("div", null, "members");
    const SHOWN = 8;
    c.members.forEach((m, index) => {
      const card = el("div", null, "member");
      card.append(el("div", `${m.department} · ${m.project}`, "where"), el("div", `相似度 ${pct(m.similarity)} · ${m.doc}`, "muted"));
      card.append(el("p", m.text, "text"));
      if (m.diff) {
        const diff = el("p", "差异：", "diff");
        renderDiff(diff, m.diff);
        card.append(diff);
      }
      if (m.indicator_id) { const a = el("a", "查看指标 →"); a.href = `/indicators/${m.indicator_id}`; card.append(a); }
      card.hidden = index >= SHOWN;
      grid.append(card);
    });
    section.append(grid);
    if (c.members.length > SHOWN) {
      const more = el("button", `展开其余 ${c.members.length - SHOWN} 处`, "more");
      more.addEventListener("click", () => { grid.querySelectorAll(".member").forEach((m) => { m.hidden = false; }); more.remove(); });
      section.append(more);
    }
    box.append(section);
  }
  if (!data.items.length) box.append(el("p", "没有相似组。", "card empty"));
}

function initClusters() {
  let page = 1;
  const reload = () => loadClusters(page).catch((e) => toast(e.message, "error"));
  fillDepartments(document.getElementById("department"), () => { page = 1; reload(); });
  document.getElementById("level").addEventListener("change", () => { page = 1; reload(); });
  document.getElementById("prev").addEventListener("click", () => { page = Math.max(1, page - 1); reload(); });
  document.getElementById("next").addEventListener("click", () => { page += 1; reload(); });
  reload();
}

// ------------------------------------------------------------------------------------------------ go

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-width]").forEach((span) => { span.style.width = `${span.dataset.width}%`; });
  const page = document.body.dataset.page;
  if (page === "review") { initSearch(); initQueue(); }
  if (page === "clusters") initClusters();
  if (page === "indicator") initIndicator();
});
