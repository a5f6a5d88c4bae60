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
    const code = body?.error?.code;
    if (response.status === 401) {
      // Signed out or expired: to the login page, and back here afterwards.
      const here = window.location.pathname + window.location.search;
      window.location.assign(`/login?next=${encodeURIComponent(here)}${code === "E090" ? "&expired=1" : ""}`);
    }
    const error = new Error(body?.error?.message_zh || `请求失败（${response.status}），请刷新页面后重试。`);
    error.code = code;
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
  if (kind === "error" && !/[\u4e00-\u9fff]/.test(String(message))) {
    // A script failure, not one of the API's coded errors: the reviewer gets Chinese, the console the rest.
    console.error(message);
    message = "页面出错，请刷新后重试；如果反复出现，请联系管理员。";
  }
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
  field("project").href = `/projects/${item.project_id}`;
  field("doc").textContent = item.doc;
  field("name").textContent = item.name;
  field("name").href = `/indicators/${item.id}`;
  document.getElementById("bulk-preview").hidden = true;
  field("value").textContent = item.value || "（空）";
  field("description").textContent = item.description;
  field("goal").textContent = item.goal || "（无）";
  field("declared").textContent = `${item.declared.l1 || "—"} / ${item.declared.l2 || "—"}`;
  // Everything about the suggestion comes from one record (item.suggestion), the one key a records.
  const s = item.suggestion;
  const flag = item.flag;
  const box = document.querySelector("#card .suggested");
  box.dataset.suggestedCode = s ? s.code : "";
  field("suggested").textContent = !s ? "—" : s.l1 ? `${s.l1} / ${s.l2}` : s.name;
  if (s && s.probability !== null) {
    setBar(field("bar"), s.probability);
    field("prob").textContent = `${s.source === "model" ? "模型概率" : "审核模型概率"} ${s.probability_text}`;
  } else if (s && s.code === "PR" && s.score !== null) {
    setBar(field("bar"), s.score);
    field("prob").textContent = `过程指标判定分值 ${s.score.toFixed(2)}`;
  } else {
    setBar(field("bar"), 0);
    field("prob").textContent = "";
  }
  field("reason").textContent = s?.reason || "";
  const top = field("top");
  top.replaceChildren();
  for (const t of s?.top || []) { const li = el("li", `${t.name} ${t.p_text}`); li.dataset.topCode = t.code; top.append(li); }
  field("score").textContent = flag ? `分值 ${flag.score.toFixed(2)}` : "";
  const reasons = field("reasons");
  reasons.replaceChildren();
  for (const r of flag?.reasons || []) reasons.append(el("li", r.label));
  field("explanation").textContent = s?.explanation || "";
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

function queueParams() {
  const params = new URLSearchParams({ size: "25" });
  for (const select of document.querySelectorAll("#filters [data-filter]")) {
    const value = select.value;
    if (!value) continue;
    if (select.dataset.filter === "band") {
      const [low, high] = value.split("-");
      if (low) params.set("score_min", low);
      if (high) params.set("score_max", high);
    } else params.set(select.dataset.filter, value);
  }
  const page = new URLSearchParams(window.location.search);
  for (const key of ["project", "mine"]) if (page.get(key)) params.set(key, page.get(key) === "1" ? "true" : page.get(key));
  return params;
}

async function loadQueue() {
  const data = await api(`/api/queue?${queueParams()}`);
  showCounts(data.counts);
  const note = document.getElementById("scope-note");
  if (data.assignment) { note.hidden = false; note.textContent = `分配给我：${data.assignment.left} 条待审 / 共 ${data.assignment.assigned} 条（背靠背）`; }
  state.items = data.items;
  showItem(state.items.shift() || null);
}

async function refreshCounts() {
  const data = await api(`/api/queue?${queueParams()}&size=1`);
  showCounts(data.counts);
}

async function decide(action, code = "") {
  if (state.busy) return;
  const item = action === "undo" ? state.done[state.done.length - 1] : state.current;
  if (!item) { toast(action === "undo" ? "没有可撤销的决定" : "队列已清空"); return; }
  state.busy = true;
  document.body.dataset.busy = "1"; // lets a test (or a screen reader hint) know a decision is in flight
  try {
    if (action === "undo" && item.bulk_id) {
      const undone = await api(`/api/bulk/${item.bulk_id}/undo`, { method: "POST", body: "{}" });
      state.done.pop();
      toast(`已撤销整批决定（${undone.undone} 条）`);
      await loadQueue();
      return;
    }
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
        await refreshCounts();
      }
    }
  } catch (e) {
    toast(e.message, "error");
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
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

// Bulk: preview how many undecided items the decision touches, then confirm that exact count.
let pendingBulk = null;

async function previewBulk(scope) {
  const item = state.current;
  if (!item) return;
  try {
    const p = await api(`/api/bulk/preview?${new URLSearchParams({ indicator_id: String(item.id), scope, action: "accept" })}`);
    pendingBulk = { item, scope, expected: p.count };
    const where = scope === "identical" ? "名称、指标值和申报类别都相同的" : "同一相似组中";
    const others = [p.already_decided ? `已有决定的 ${p.already_decided} 条不变` : "", p.other_suggestion ? `建议不同的 ${p.other_suggestion} 条不变` : ""].filter(Boolean).join("，");
    document.querySelector('[data-f="bulk-text"]').textContent =
      `将对${where} ${p.count} 条指标（涉及 ${p.departments.length} 个部门：${p.departments.join("、") || "—"}）记录「接受建议：${p.code_name}」${others ? "；" + others : ""}。`;
    document.getElementById("bulk-preview").hidden = false;
    document.getElementById("bulk-confirm").disabled = p.count === 0;
  } catch (e) { toast(e.message, "error"); }
}

async function confirmBulk() {
  if (!pendingBulk || state.busy) return;
  state.busy = true;
  const { item, scope, expected } = pendingBulk;
  try {
    const comment = document.getElementById("comment").value.trim();
    const saved = await api("/api/bulk", { method: "POST", body: JSON.stringify({ indicator_id: item.id, scope, action: "accept", expected, comment }) });
    state.done.push({ ...item, bulk_id: saved.bulk_id });
    toast(`已批量记录 ${saved.count} 条 → ${saved.code_name}（按 u 撤销整批）`, "ok");
    pendingBulk = null;
    await loadQueue();
  } catch (e) { toast(e.message, "error"); } finally { state.busy = false; }
}

function initQueue() {
  fillDepartments(document.getElementById("department"), () => {});
  for (const select of document.querySelectorAll("#filters [data-filter]")) {
    select.addEventListener("change", () => loadQueue().catch((e) => toast(e.message, "error")));
  }
  bindDecisions(document.getElementById("card"), decide);
  document.querySelectorAll("[data-bulk]").forEach((b) => b.addEventListener("click", () => previewBulk(b.dataset.bulk)));
  document.getElementById("bulk-confirm").addEventListener("click", confirmBulk);
  document.getElementById("bulk-cancel").addEventListener("click", () => { pendingBulk = null; document.getElementById("bulk-preview").hidden = true; });
  loadQueue().catch((e) => toast(e.message, "error"));
}

// ---------------------------------------------------------------------------------- my decisions

async function loadMine(page) {
  const data = await api(`/api/my-decisions?${new URLSearchParams({ page: String(page), size: "50" })}`);
  const body = document.querySelector("#mine tbody");
  body.replaceChildren();
  for (const d of data.items) {
    const tr = el("tr", null, d.undone || d.action === "undo" ? "undone" : "");
    const link = el("a", d.indicator); link.href = `/indicators/${d.indicator_id}`;
    const name = el("td"); name.append(link);
    const bulk = el("td");
    if (d.bulk_id) bulk.append(el("span", `批量 #${d.bulk_id}`, "badge"));
    tr.append(el("td", d.time_local), name, el("td", `${d.department} · ${d.project}`), el("td", d.action_name),
      el("td", NAMES[d.code_before] || d.code_before || "—"), el("td", d.code_name || "—"), bulk);
    body.append(tr);
  }
  if (!data.items.length) { const tr = el("tr"); tr.append(el("td", "还没有决定。", "muted")); body.append(tr); }
  document.getElementById("pageno").textContent = `第 ${page} 页 / 共 ${Math.max(1, Math.ceil(data.total / 50))} 页`;
  document.getElementById("prev").disabled = page <= 1;
  document.getElementById("next").disabled = page * 50 >= data.total;
}

function initMine() {
  let page = 1;
  const reload = () => loadMine(page).catch((e) => toast(e.message, "error"));
  document.getElementById("prev").addEventListener("click", () => { page = Math.max(1, page - 1); reload(); });
  document.getElementById("next").addEventListener("click", () => { page += 1; reload(); });
  reload();
}

// -------------------------------------------------------------------------------- double review

async function loadAgreement() {
  const rows = await api("/api/agreement");
  const body = document.querySelector("#kappa tbody");
  body.replaceChildren();
  for (const r of rows) {
    const tr = el("tr");
    tr.append(el("td", r.reviewers.join(" / ")), el("td", String(r.items)), el("td", String(r.agreed)),
      el("td", pct(r.agreement)), el("td", r.kappa.toFixed(2), "kappa"));
    body.append(tr);
  }
  if (!rows.length) { const tr = el("tr"); tr.append(el("td", "还没有两位审核员都决定过的条目。", "muted")); body.append(tr); }
  const mine = await api("/api/queue?mine=true&size=1");
  document.getElementById("assigned").textContent = mine.assignment ? `（${mine.assignment.left} 条待审，共 ${mine.assignment.assigned} 条）` : "";
  const disputes = document.getElementById("disputes");
  if (disputes) {
    const found = await api("/api/indicators?disputed=true&size=50");
    disputes.replaceChildren();
    for (const item of found.items) {
      const li = el("li"); const a = el("a", item.name); a.href = `/indicators/${item.id}`;
      li.append(a, el("span", ` ${item.department} · ${item.project}`, "muted"));
      disputes.append(li);
    }
    if (!found.items.length) disputes.append(el("li", "（无）", "muted"));
  }
}

function initAgreement() {
  const form = document.getElementById("assign");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reviewers = document.getElementById("assign-names").value.split(/[,，\s]+/).filter(Boolean);
      const limit = Number(document.getElementById("assign-limit").value) || 20;
      try {
        const done = await api("/api/assignments", { method: "POST", body: JSON.stringify({ reviewers, limit }) });
        toast(`已分配 ${done.assigned} 条（原有 ${done.already} 条不变）`, "ok");
        await loadAgreement();
      } catch (e) { toast(e.message, "error"); }
    });
  }
  loadAgreement().catch((e) => toast(e.message, "error"));
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

// "Apply to the whole group" on the cluster page: preview the count, then confirm exactly that count.
function groupBulk(cluster, anchorId) {
  const box = el("div", null, "bulk");
  const start = el("button", "对整组接受建议");
  const note = el("p", "", "bulk-preview");
  note.hidden = true;
  box.append(start, note);
  start.addEventListener("click", async () => {
    try {
      const query = new URLSearchParams({ indicator_id: String(anchorId), scope: "cluster", cluster_id: String(cluster.id) });
      const p = await api(`/api/bulk/preview?${query}`);
      note.replaceChildren(el("span", `将对本组 ${p.count} 条未决指标（涉及 ${p.departments.length} 个部门）记录「接受建议：${p.code_name}」；已有决定的 ${p.already_decided} 条、建议不同的 ${p.other_suggestion} 条不变。`));
      const ok = el("button", "确认", "primary");
      ok.disabled = p.count === 0;
      ok.addEventListener("click", async () => {
        try {
          const saved = await api("/api/bulk", { method: "POST", body: JSON.stringify({ indicator_id: anchorId, scope: "cluster", cluster_id: cluster.id, action: "accept", expected: p.count }) });
          const undo = el("button", "撤销这一批");
          undo.addEventListener("click", async () => {
            try { const u = await api(`/api/bulk/${saved.bulk_id}/undo`, { method: "POST", body: "{}" }); toast(`已撤销整批决定（${u.undone} 条）`); note.hidden = true; }
            catch (e) { toast(e.message, "error"); }
          });
          note.replaceChildren(el("span", `已批量记录 ${saved.count} 条。`), undo);
          toast(`已批量记录 ${saved.count} 条 → ${saved.code_name}`, "ok");
        } catch (e) { toast(e.message, "error"); }
      });
      note.append(ok);
      note.hidden = false;
    } catch (e) { toast(e.message, "error"); }
  });
  return box;
}

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
    const anchor = c.members.find((m) => m.indicator_id);
    if (anchor) section.append(groupBulk(c, anchor.indicator_id));
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
  if (page === "mine") initMine();
  if (page === "agreement") initAgreement();
});
