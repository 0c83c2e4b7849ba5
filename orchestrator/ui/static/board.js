// orch ui: the page. It draws what the JSON API answers and sends edits back through it;
// every rule (which moves are allowed, what they need) is the core's, whose messages are
// shown as they come. Text from the project is always set as text, never as HTML; the
// only HTML taken from the server is a task's Markdown and the graph, both rendered and
// escaped there.
"use strict";

// How a status is shown; which statuses there are comes from the server (the columns).
const STATUS_NAMES = { in_progress: "In progress", needs_revision: "Needs revision" };
const statusName = (status) => STATUS_NAMES[status] || status.charAt(0).toUpperCase() + status.slice(1).replace(/_/g, " ");
const PAGE = 50;
const state = { route: null, board: null, limits: {}, errors: {}, editing: false, refreshing: null,
                statuses: [], moving: 0, focus: null };

// ---------------------------------------------------------------- helpers
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function api(path, method = "GET", body = undefined) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let answer, response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    answer = { ok: false, error: `the board's server did not answer (${e.message}): is orch ui still running?` };
  }
  if (response) {
    try {
      answer = await response.json();
      answer.ok = response.ok;
    } catch (e) {
      answer = { ok: false, error: `the board's server answered ${response.status} ${response.statusText}; its terminal says why` };
    }
  }
  for (const warning of answer.warnings || []) toast(warning, "warning");
  return answer;
}

function toast(text, kind = "info") {
  const box = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  document.getElementById("toasts").append(box);
  setTimeout(() => box.remove(), 6000);
}

function progressBar(percent, label) {
  const value = Math.round(percent || 0);
  return h("div", { class: "progress", role: "progressbar", "aria-valuenow": value,
                    "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": label },
    h("div", { class: "bar", style: `width: ${value}%` }));
}

function pill(status) {
  return h("span", { class: `pill status-${status}` }, statusName(status));
}

function taskLink(task) {
  return h("a", { href: `#/task/${task.task_id}`, class: "task-link" }, task.title || task.task_id);
}

function effort(hours) {
  return hours === null || hours === undefined ? null : `${hours}h`;
}

// A snippet marks its hits with **…**: shown as <mark>, the rest as text.
function marked(snippet) {
  return (snippet || "").split("**").map((part, i) => (i % 2 ? h("mark", {}, part) : part));
}

function parseRoute() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

function go(path, params) {
  const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v)).toString();
  location.hash = `#${path}${query ? "?" + query : ""}`;
}

function view() { return document.getElementById("view"); }

function show(...nodes) {
  const main = view();
  main.replaceChildren(...nodes);
}

// ---------------------------------------------------------------- the board
async function loadBoard() {
  const { params } = state.route;
  const limits = Object.entries(state.limits).filter(([, n]) => n > PAGE).map(([s, n]) => `${s}:${n}`);
  const query = new URLSearchParams({ session: params.get("session") || "", group: params.get("group") || "",
                                      limits: limits.join(","), ...filters(params) });
  const answer = await api(`/api/board?${query}`);
  if (!answer.ok) return show(h("p", { class: "error", role: "alert" }, answer.error));
  state.board = answer.data;
  renderBoard();
}

// Due before today (the person's own day, as `orch task list --overdue` counts it) and
// not finished.
function overdue(task) {
  const d = new Date();
  const today = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  return task.due < today && task.status !== "completed" && task.status !== "cancelled";
}

// The board's filters by label and assignee, as the route and the API name them.
function filters(params) {
  return { label: params.get("label") || "", assignee: params.get("assignee") || "" };
}

// A select per filter the session's tasks give values for; a choice keeps the others.
function filterControls(data) {
  const params = state.route.params;
  const pick = (name, label, values) => values.length ? h("select", {
      name, "aria-label": label, class: "filter",
      onchange: (e) => { state.limits = {}; go("/", { session: data.session.session_id, group: params.get("group") || "",
                                                     ...filters(params), [name]: e.target.value }); } },
    h("option", { value: "" }, `Any ${label.toLowerCase()}`),
    values.map((v) => h("option", { value: v, selected: v === params.get(name) }, v))) : null;
  return [pick("label", "Label", data.labels || []), pick("assignee", "Assignee", data.assignees || [])];
}

function renderBoard() {
  const data = state.board;
  if (!data.session) {
    return show(h("section", { class: "empty" }, h("h1", {}, "No session yet"),
      h("p", {}, "Create one with ", h("code", {}, "orch session create NAME"), ", or let an agent plan one.")));
  }
  const s = data.session;
  state.statuses = data.columns.map((c) => c.status);
  // The graph, and the board when it is left, show the session the board shows.
  document.querySelector("[data-nav=graph]").setAttribute("href", `#/graph?session=${s.session_id}`);
  document.querySelector("[data-nav=board]").setAttribute("href", `#/?session=${s.session_id}`);
  const picker = h("select", { id: "session-picker", "aria-label": "Session",
                               onchange: (e) => { state.limits = {}; go("/", { session: e.target.value }); } },
    data.sessions.map((x) => h("option", { value: x.session_id, selected: x.session_id === s.session_id },
                                `${x.name} (${x.status})`)));
  const head = h("section", { class: "board-head" },
    picker,
    h("div", { class: "session-progress" },
      progressBar(s.progress_percentage, `progress of ${s.name}`),
      h("span", { class: "figures" }, `${s.completed_tasks} of ${s.total_tasks} done · ${Math.round(s.progress_percentage || 0)}%`)),
    pill(s.status),
    ...filterControls(data),
    h("button", { id: "add-task", type: "button", onclick: () => toggleAddForm(true) }, "+ Add task"));
  // Drawn again (a live change, a move): the card or status control that had the focus
  // keeps it, so a keyboard user is not thrown back to the top of the page.
  const active = document.activeElement;
  const had = active && active.closest ? active.closest(".card") : null;
  const control = had && active.classList.contains("status-button");
  show(head, groupStrip(data), addForm(data), h("div", { class: "columns" }, data.columns.map(column)));
  const again = had && document.querySelector(`.card[data-task-id="${had.dataset.taskId}"]`);
  if (again) (control ? again.querySelector(".status-button") : again).focus();
}

function groupStrip(data) {
  const current = state.route.params.get("group") || "";
  const chip = (group) => h("button", {
      type: "button", class: `chip level-${Math.min(group ? group.group_level : 0, 4)}${(group ? group.group_id : "") === current ? " current" : ""}`,
      "data-group-id": group ? group.group_id : "",
      onclick: () => { state.limits = {}; go("/", { session: data.session.session_id, group: group ? group.group_id : "" }); },
    },
    group && group.group_level ? h("span", { class: "nest", "aria-hidden": "true" }, "↳ ") : null,
    group ? group.group_name : "All groups",
    group ? h("span", { class: "figures" }, ` ${group.completed_tasks}/${group.total_tasks}`) : null,
    group ? progressBar(group.progress_percentage, `progress of ${group.group_name}`) : null);
  return h("nav", { class: "groups", "aria-label": "Groups" }, chip(null), data.groups.map(chip));
}

function addForm(data) {
  const groups = data.groups.map((g) => h("option", { value: g.group_id, selected: g.group_id === state.route.params.get("group") },
                                          `${"— ".repeat(g.group_level)}${g.group_name}`));
  const form = h("form", { id: "add-form", class: "add-form", hidden: true, onsubmit: addTask },
    h("input", { name: "title", placeholder: "Title", "aria-label": "Title", required: true }),
    h("select", { name: "group", "aria-label": "Group" }, h("option", { value: "" }, "(no group)"), groups),
    h("select", { name: "priority_level", "aria-label": "Priority" },
      [1, 2, 3, 4, 5].map((p) => h("option", { value: p, selected: p === 3 }, `P${p}`))),
    h("input", { name: "estimated_effort", placeholder: "Effort (3h, 90m)", "aria-label": "Effort", size: 10 }),
    h("input", { name: "specialist_type", placeholder: "Specialist", "aria-label": "Specialist", size: 14 }),
    h("textarea", { name: "description", placeholder: "Description (Markdown)", "aria-label": "Description", rows: 2 }),
    h("button", { type: "submit" }, "Add"),
    h("button", { type: "button", onclick: () => toggleAddForm(false) }, "Cancel"),
    h("p", { class: "form-error", role: "alert" }));
  return form;
}

function toggleAddForm(open) {
  const form = document.getElementById("add-form");
  form.hidden = !open;
  state.editing = open;
  if (open) form.elements.title.focus();
}

async function addTask(event) {
  event.preventDefault();
  const form = event.target;
  const values = Object.fromEntries(new FormData(form).entries());
  values.session = state.board.session.session_id;
  values.priority_level = Number(values.priority_level);
  const answer = await api("/api/tasks", "POST", values);
  if (!answer.ok) { form.querySelector(".form-error").textContent = answer.error; return; }
  state.editing = false;
  toast(`added ${answer.data.task_id} "${answer.data.title}"`);
  await loadBoard();
}

function column(col) {
  const shown = col.cards.length;
  const section = h("section", { class: "column", "data-status": col.status, "aria-label": statusName(col.status),
      ondragover: (e) => { e.preventDefault(); section.classList.add("over"); },
      ondragleave: () => section.classList.remove("over"),
      ondrop: (e) => {
        e.preventDefault();
        section.classList.remove("over");
        const id = e.dataTransfer.getData("text/plain");
        if (id) move(id, col.status);
      } },
    h("h2", {}, statusName(col.status), h("span", { class: "count" }, col.count)),
    h("div", { class: "cards" }, col.cards.map(card)),
    shown < col.count
      ? h("button", { type: "button", class: "more", onclick: () => showMore(col) },
          `Show ${Math.min(PAGE, col.count - shown)} more (${col.count - shown} not shown)`)
      : null);
  return section;
}

async function showMore(col) {
  const params = state.route.params;
  const query = new URLSearchParams({ session: state.board.session.session_id, status: col.status,
                                      group: params.get("group") || "", offset: col.cards.length, limit: PAGE,
                                      ...filters(params) });
  const answer = await api(`/api/column?${query}`);
  if (!answer.ok) return toast(answer.error, "error");
  col.cards = col.cards.concat(answer.data.cards);
  col.count = answer.data.count;
  state.limits[col.status] = col.cards.length;
  document.querySelector(`.column[data-status="${col.status}"]`).replaceWith(column(col));
}

function card(task) {
  let error = state.errors[task.task_id];
  if (error && error.from !== task.status) {  // moved since, by someone: the note is stale
    delete state.errors[task.task_id];
    error = null;
  }
  const el = h("article", { class: `card prio-${task.priority_level}${task.ready ? " ready" : ""}${task.blocked_by.length ? " waiting" : ""}${task.parent_task_id ? " subtask" : ""}`,
      "data-task-id": task.task_id, "data-status": task.status, draggable: "true", tabindex: "0",
      ondragstart: (e) => { e.dataTransfer.setData("text/plain", task.task_id); e.dataTransfer.effectAllowed = "move"; },
      onkeydown: (e) => { if (e.key === "Enter" && e.target === el) location.hash = `#/task/${task.task_id}`; } },
    h("a", { class: "title", href: `#/task/${task.task_id}` }, task.title),
    h("div", { class: "meta" },
      h("span", { class: "id" }, task.task_id),
      task.specialist_type ? h("span", { class: "specialist" }, task.specialist_type) : null,
      effort(task.estimated_effort) ? h("span", { class: "effort", title: "estimated effort" }, effort(task.estimated_effort)) : null,
      h("span", { class: "priority", title: "priority (1 urgent … 5 someday)" }, `P${task.priority_level}`),
      task.ready ? h("span", { class: "ready-badge" }, "ready") : null),
    task.assignee || task.due ? h("div", { class: "assigned" },
      task.assignee ? h("span", { class: "assignee", title: "assignee" }, `@${task.assignee}`) : null,
      task.due ? h("span", overdue(task) ? { class: "due overdue", title: "overdue" } : { class: "due", title: "due" },
                   ` due ${task.due}`) : null) : null,
    (task.labels || []).length ? h("div", { class: "labels" }, task.labels.map((l) => h("span", { class: "label" }, l))) : null,
    task.group_name && !state.route.params.get("group") ? h("div", { class: "group-name" }, task.group_name) : null,
    task.parent_task_id ? h("div", { class: "parent" }, "↳ subtask of ",
      h("a", { href: `#/task/${task.parent_task_id}` }, task.parent_title || task.parent_task_id)) : null,
    task.open_subtasks ? h("div", { class: "open-subtasks" }, `${task.open_subtasks} open subtask${task.open_subtasks > 1 ? "s" : ""}`) : null,
    task.blocked_by.length ? h("div", { class: "blocked-by" }, "waits on ",
      task.blocked_by.map((d, i) => [i ? ", " : "", h("a", { href: `#/task/${d.task_id}`, title: d.status || "missing" }, d.title || d.task_id)])) : null,
    statusControl(task.task_id, task.status),
    error ? refusalNote(task.task_id, error) : null);
  return el;
}

function statusControl(taskId, status) {
  return h("div", { class: "status-control" },
    h("button", { type: "button", class: "status-button", "data-status": status, "aria-haspopup": "menu",
                  "aria-label": `Status of ${taskId}: ${statusName(status)}. Change`,
                  onclick: (e) => openMenu(e.currentTarget, taskId, status) },
      statusName(status), h("span", { "aria-hidden": "true" }, " ▾")));
}

// The statuses to move to, as buttons: arrows move between them, Enter moves the task,
// Escape closes the menu; focus comes back to the card's control after the move.
function openMenu(button, taskId, status) {
  closeMenu();
  const items = state.statuses.filter((v) => v !== status).map((value) =>
    h("button", { type: "button", role: "menuitem", "data-status": value,
                  onclick: () => { closeMenu(); state.focus = taskId; move(taskId, value); } }, statusName(value)));
  const menu = h("div", { class: "status-menu", role: "menu", "aria-label": `Move ${taskId} to`,
    onkeydown: (e) => {
      const at = items.indexOf(document.activeElement);
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        items[(at + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length].focus();
      } else if (e.key === "Escape") {
        closeMenu();
        button.focus();
      }
    } }, items);
  button.after(menu);
  items[0].focus();
}

function closeMenu() {
  for (const menu of document.querySelectorAll(".status-menu")) menu.remove();
}

function refusalNote(taskId, error) {
  // The hint of a refused move is the same move, forced: offered as a button.
  const forced = error.hint && error.hint.args && error.hint.args.force;
  return h("div", { class: "card-error", role: "alert" },
    h("span", { class: "message" }, error.error),
    forced ? h("button", { type: "button", class: "force", onclick: () => move(taskId, error.status, true) },
                "Do it anyway") : null,
    h("button", { type: "button", class: "dismiss", "aria-label": "Dismiss",
                  onclick: () => { delete state.errors[taskId]; refresh(); } }, "×"));
}

async function move(taskId, status, force = false) {
  const el = document.querySelector(`.card[data-task-id="${taskId}"]`);
  const from = el ? el.dataset.status : (state.task && state.task.status);
  const target = document.querySelector(`.column[data-status="${status}"] .cards`);
  if (el && target && state.route.path === "/") target.prepend(el);  // shown at once; the answer confirms
  state.moving += 1;  // the files it writes are told as changes too: fetched once, below
  let answer;
  try {
    answer = await api(`/api/task/${taskId}/status`, "POST", { status, force });
  } finally {
    state.moving -= 1;
  }
  if (answer.ok) {
    delete state.errors[taskId];
    committed(taskId, answer.data.status);
  } else state.errors[taskId] = { ...answer, status, from };
  await refresh();
  if (!answer.ok && state.route.path !== "/") toast(answer.error, "error");
  const control = document.querySelector(`[data-task-id="${state.focus}"] .status-button`);
  if (control) control.focus();
  state.focus = null;
}

// The card shown with the status its move committed (the POST answers after the commit),
// in that column, before the board is fetched again for the counts and the rest.
function committed(taskId, status) {
  const el = document.querySelector(`.card[data-task-id="${taskId}"]`);
  const target = document.querySelector(`.column[data-status="${status}"] .cards`);
  if (!el || !target || state.route.path !== "/") return;
  if (el.parentNode !== target) target.prepend(el);
  el.dataset.status = status;
  el.querySelector(".status-control").replaceWith(statusControl(taskId, status));
}

// ---------------------------------------------------------------- a task
async function loadTask(taskId) {
  const answer = await api(`/api/task/${encodeURIComponent(taskId)}`);
  if (!answer.ok) return show(h("p", { class: "error", role: "alert" }, answer.error));
  if (state.editing) return;  // a form open: what changed shows once it is closed
  const t = answer.data;
  state.task = t;
  state.statuses = t.statuses;
  const related = (title, rows) => rows.length ? h("section", { class: "related" }, h("h2", {}, title),
    h("ul", {}, rows.map((r) => h("li", {}, taskLink(r), " ", pill(r.status))))) : null;
  const facts = [
    ["Specialist", t.specialist_type], ["Complexity", t.complexity_level], ["Priority", `P${t.priority_level}`],
    ["Estimated", effort(t.estimated_effort)], ["Actual", effort(t.actual_effort)], ["Group", t.task_group],
    ["Labels", (t.labels || []).join(", ")], ["Assignee", t.assignee], ["Due", t.due],
    ["Created", t.created_at], ["Started", t.started_at], ["Completed", t.completed_at], ["File", t.file_path],
  ].filter(([, v]) => v);
  const error = state.errors[t.task_id];
  show(h("article", { class: "task-page", "data-task-id": t.task_id },
    h("p", { class: "crumbs" }, h("a", { href: `#/?session=${t.session_id}` }, "Board"), " › ", t.task_id),
    h("div", { class: "title-row" }, h("h1", { class: "task-title" }, t.title), pill(t.status),
      h("button", { type: "button", id: "edit-task", onclick: () => editTask(t) }, "Edit")),
    h("div", { class: "task-controls" }, statusControl(t.task_id, t.status), error ? refusalNote(t.task_id, error) : null),
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    t.problems.length ? h("section", { class: "problems" }, h("h2", {}, "Problems in its file"),
      h("ul", {}, t.problems.map((p) => h("li", { class: p.severity },
        `${p.path}${p.line ? ":" + p.line : ""}: ${p.message}`, p.fix ? ` (${p.fix})` : "")))) : null,
    htmlSection(t.html),
    related("Subtasks", t.subtasks), related("Depends on", t.dependencies), related("Blocks", t.blocked_tasks),
    t.artifacts.length ? h("section", { class: "artifacts" }, h("h2", {}, "Artifacts"),
      h("ul", {}, t.artifacts.map((a) => h("li", {}, h("a", { href: `/api/artifact/${t.task_id}/${a.name.split("/").map(encodeURIComponent).join("/")}`, target: "_blank" }, a.name),
        h("span", { class: "size" }, ` ${a.size} bytes`))))) : null,
    history(t.history)));
}

function htmlSection(html) {
  const section = h("section", { class: "markdown" });
  section.innerHTML = html;  // rendered by the server from Markdown, raw HTML escaped there
  return section;
}

function history(found) {
  const commits = (found && found.commits) || [];
  return h("section", { class: "history" }, h("h2", {}, "History"),
    commits.length ? h("ol", {}, commits.map((c) => h("li", {},
      h("time", { datetime: c.date }, c.date.replace("T", " ").slice(0, 16)), " ",
      h("span", { class: "subject" }, c.subject), " ",
      h("code", { title: c.commit }, c.short)))) : h("p", { class: "muted" }, "No commits name this task yet."),
    found && found.more ? h("p", { class: "muted" }, "Older commits: orch log / git log.") : null);
}

function editTask(t) {
  state.editing = true;
  const form = h("form", { class: "edit-form", onsubmit: async (e) => {
      e.preventDefault();
      const values = Object.fromEntries(new FormData(form).entries());
      const changes = {};
      if (values.title !== t.title) changes.title = values.title;
      if (values.description !== (t.description || "")) {
        changes.description = values.description;
        changes.description_was = t.description || "";  // refused if the file's text moved on
      }
      const answer = await api(`/api/task/${t.task_id}`, "PATCH", changes);
      if (!answer.ok) { form.querySelector(".form-error").textContent = answer.error; return; }
      state.editing = false;
      toast(answer.data.changed ? `saved ${t.task_id}` : "nothing changed");
      refresh();
    } },
    h("label", {}, "Title", h("input", { name: "title", value: t.title, required: true })),
    h("label", {}, "Description (Markdown: the whole text of the file's body)",
      h("textarea", { name: "description", rows: 16 }, t.description || "")),
    h("button", { type: "submit" }, "Save"),
    h("button", { type: "button", onclick: () => { state.editing = false; refresh(); } }, "Cancel"),
    h("p", { class: "form-error", role: "alert" }));
  document.querySelector(".task-page").replaceChildren(form);
  form.elements.title.focus();
}

// ---------------------------------------------------------------- graph, search, sessions
async function loadGraph() {
  const session = state.route.params.get("session") || "";
  const answer = await api(`/api/graph?session=${encodeURIComponent(session)}`);
  if (!answer.ok) return show(h("p", { class: "error", role: "alert" }, answer.error));
  const g = answer.data;
  const drawing = h("div", { class: "graph" });
  drawing.innerHTML = g.svg;  // drawn by the server, every text escaped there
  show(h("section", { class: "graph-page" },
    h("h1", {}, `Dependencies of ${g.session.name}`),
    h("p", { class: "figures" }, `${g.count} tasks, ${g.ready} ready (outlined green). Arrows run from a task to what waits on it.`),
    drawing));
}

async function loadSearch() {
  const params = state.route.params;
  const q = params.get("q") || "";
  document.getElementById("search-box").value = q;
  document.getElementById("search-scope").value = params.get("scope") || "active";
  if (!q.trim()) return show(h("p", { class: "muted" }, "Type words to find in the search box."));
  const answer = await api(`/api/search?${new URLSearchParams({ q, scope: params.get("scope") || "active" })}`);
  if (!answer.ok) return show(h("p", { class: "error", role: "alert" }, answer.error));
  const r = answer.data;
  show(h("section", { class: "search-page" },
    h("h1", {}, `${r.task_total || 0} task${r.task_total === 1 ? "" : "s"} for “${q}”`),
    h("ol", { class: "hits" }, (r.tasks || []).map((t) => h("li", { class: "hit", "data-task-id": t.task_id },
      taskLink(t), " ", pill(t.status), t.task_group ? h("span", { class: "group-name" }, ` ${t.task_group}`) : null,
      h("p", { class: "snippet" }, marked(t.snippet))))),
    (r.notes || []).length ? [h("h2", {}, "In the sessions' notes"),
      h("ol", { class: "hits" }, r.notes.map((n) => h("li", { class: "hit note" },
        h("span", { class: "kind" }, n.kind), " ", h("a", { href: `#/?session=${n.session_id}` }, n.session),
        h("p", { class: "snippet" }, marked(n.snippet)))))] : null));
}

async function loadSessions() {
  const answer = await api("/api/sessions");
  if (!answer.ok) return show(h("p", { class: "error", role: "alert" }, answer.error));
  if (!answer.data.length) {
    return show(h("section", { class: "sessions-page" }, h("h1", {}, "Sessions"),
      h("p", { class: "muted" }, "No session yet: ", h("code", {}, "orch session create NAME"), ".")));
  }
  show(h("section", { class: "sessions-page" }, h("h1", {}, "Sessions"),
    h("ul", { class: "sessions" }, answer.data.map((s) => h("li", { class: "session", "data-session-id": s.session_id },
      h("div", { class: "session-head" }, h("a", { href: `#/?session=${s.session_id}` }, s.name), " ", pill(s.status),
        h("span", { class: "figures" }, ` ${s.completed_tasks} of ${s.total_tasks} done`)),
      progressBar(s.progress_percentage, `progress of ${s.name}`),
      s.problem ? h("p", { class: "error" }, s.problem) : null,
      h("div", { class: "transitions" }, s.transitions.map((t) => h("button", { type: "button", "data-status": t.status,
        onclick: () => sessionMove(s.session_id, t.status) }, t.verb[0].toUpperCase() + t.verb.slice(1)))),
      h("p", { class: "session-error", role: "alert" }))))));
}

async function sessionMove(sessionId, status) {
  if ((status === "cancelled" || status === "archived") && !window.confirm(`${status === "cancelled" ? "Cancel" : "Archive"} this session?`)) return;
  const answer = await api(`/api/session/${sessionId}/status`, "POST", { status });
  await loadSessions();
  if (!answer.ok) {
    const row = document.querySelector(`.session[data-session-id="${sessionId}"] .session-error`);
    if (row) row.textContent = answer.error;
  }
}

// ---------------------------------------------------------------- routing and live updates
async function route() {
  state.route = parseRoute();
  state.editing = false;
  const { path } = state.route;
  const here = path === "/" ? "board" : path.slice(1).split("/")[0];
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("current", link.dataset.nav === here);
  }
  await refresh();
}

async function refresh() {
  const { path } = state.route;
  if (path.startsWith("/task/")) return loadTask(decodeURIComponent(path.slice(6)));
  if (path === "/graph") return loadGraph();
  if (path === "/search") return loadSearch();
  if (path === "/sessions") return loadSessions();
  return loadBoard();
}

// A change told while a fetch runs is fetched once more after it, never in parallel; one
// told while this page's own move is answered is fetched by the move itself.
function changed() {
  if (state.editing || state.moving) return;
  if (state.refreshing) { state.refreshing.again = true; return; }
  const run = { again: false };
  state.refreshing = run;
  refresh().finally(() => {
    state.refreshing = null;
    if (run.again) changed();
    else document.body.dataset.fresh = String(Date.now());
  });
}

// Every tab of the board shares one event stream through a shared worker (static/live.js):
// a browser keeps at most six connections to one server, and each stream holds one.
function listen() {
  const live = document.getElementById("live");
  let seen = false;
  const told = (kind) => {
    if (kind === "ready") {
      document.body.dataset.live = "on";
      live.classList.add("on");
      if (seen) changed();  // back after a break: what changed meanwhile was not told
      seen = true;
    } else if (kind === "change") {
      changed();
    } else {
      document.body.dataset.live = "off";
      live.classList.remove("on");
    }
  };
  if (window.SharedWorker) {
    const worker = new SharedWorker("/static/live.js");
    worker.port.onmessage = (e) => told(e.data);
    worker.port.start();
    window.addEventListener("pagehide", () => worker.port.postMessage("bye"));
  } else {
    const events = new EventSource("/api/events");
    events.addEventListener("ready", () => told("ready"));
    events.addEventListener("change", () => told("change"));
    events.onerror = () => told("down");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    go("/search", { q: document.getElementById("search-box").value,
                    scope: document.getElementById("search-scope").value });
  });
  window.addEventListener("hashchange", route);
  document.addEventListener("click", (e) => {
    if (!e.target.closest(".status-menu, .status-button")) closeMenu();
  });
  listen();
  route();
});
