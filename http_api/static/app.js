// The board: a snapshot with the seq it is consistent with, then the live feed from that
// seq, all into one store; every view renders from the store.

import { api, ApiError, auth } from "./api.js";
import { Feed } from "./feed.js";
import { Store } from "./store.js";
import { TASK_STATUS_LABEL, h, options, patchList, sessionItem, taskItem, taskTree } from "./views.js";
import { DEFAULTS, LIMITS, TASK_PRIORITIES, TASK_STATUSES } from "./vocabulary.js";

const EDITABLE = ["title", "status", "priority", "description", "prompt"];
const store = new Store();
store.onIncomplete = (kind, id) => {
  if (kind === "task") fetchTask(id);
};
const ui = { filter: "all", expanded: new Set(), editing: null, firstView: false };
const $ = (selector) => document.querySelector(selector);

// --- loading -------------------------------------------------------------------------------

async function loadProject(projectId) {
  store.switchProject(projectId);
  if (!projectId) return null;
  const [tasks, sessions] = await Promise.all([api.tasks(projectId), api.sessions(projectId)]);
  store.loadProject(projectId, tasks.data, sessions.data, Math.min(tasks.seq, sessions.seq));
  ui.firstView = true; // the next render is this project's first view (see timing below)
  return Math.min(tasks.seq, sessions.seq);
}

async function loadAll() {
  const projects = await api.projects();
  store.loadProjects(projects.data, projects.seq);
  const wanted = location.hash.slice(1);
  const chosen = store.projects.has(wanted) ? wanted : projects.data[0]?.id ?? null;
  const projectSeq = await loadProject(chosen);
  // Resume from the oldest snapshot: events after it are applied once more, and the
  // store keeps only newer versions, so nothing is missed and nothing goes backwards.
  store.seq = Math.min(projects.seq, projectSeq ?? projects.seq);
}

const feed = new Feed({
  since: () => store.seq,
  onEvent: (message) => store.apply(message),
  onState: showConnection,
  onReset: async () => {
    notify("Reconnected after a long gap: reloading the board.");
    store.tombstones.clear();
    store.projects.clear();
    await loadAll();
    feed.connect();
  },
  // A refused handshake may be a token that changed (the server restarted with a new
  // one): a REST call says so with a 401, which opens the token dialog.
  onRefused: () => api.projects().catch(() => {}),
});

// --- rendering ------------------------------------------------------------------------------

function render() {
  renderProjects();
  const hasProject = Boolean(store.projectId);
  $("#board").hidden = !hasProject;
  $("#welcome").hidden = hasProject || store.projects.size > 0;
  if (!hasProject) return;
  renderTasks();
  renderSessions();
  renderDialog();
  announceRender();
}

// Timing hooks for the board benchmark (bench/board.py) and anyone profiling: a mark when a
// project's first view is in the DOM (one per project loaded, so marks never pile up), and
// an event after every render naming the seq it shows (nothing is kept per render).
function announceRender() {
  const detail = { seq: store.seq, tasks: store.tasks.size, sessions: store.sessions.size, firstView: ui.firstView };
  if (ui.firstView) {
    ui.firstView = false;
    performance.mark("maestro:first-view", { detail });
  }
  document.dispatchEvent(new CustomEvent("maestro:rendered", { detail }));
}

function renderProjects() {
  const select = $("#project-select");
  const projects = store.projectList();
  patchList(
    select,
    projects.map((p) => ({ key: p.id, signature: p.name, project: p })),
    ({ project }) => h("option", { value: project.id }, project.name),
  );
  select.disabled = projects.length === 0;
  if (store.projectId && select.value !== store.projectId) select.value = store.projectId;
  if (store.projectId && !store.projects.has(store.projectId)) {
    // The project was deleted (here or elsewhere): go to another one.
    switchProject(projects[0]?.id ?? null);
  } else if (!store.projectId && projects.length > 0 && started) {
    // The first project appeared, created elsewhere (an agent, the CLI): show it.
    switchProject(projects[0].id);
  }
}

function renderTasks() {
  const tasks = store.taskList();
  const shown = ui.filter === "all" ? tasks : tasks.filter((t) => t.status === ui.filter);
  const tree = ui.filter === "all" ? taskTree(shown) : shown.map((task) => ({ task, depth: 0 }));
  const holderName = (claim) => (claim ? store.sessions.get(claim.sessionId)?.name ?? claim.sessionId : null);
  const waitingFor = (task) => task.dependsOn.filter((id) => store.tasks.get(id)?.status !== "completed").length;
  patchList(
    $("#task-list"),
    tree.map((entry) => {
      const holder = holderName(entry.task.claim);
      const waiting = waitingFor(entry.task);
      const changedBy = store.changedBy.get(entry.task.id) ?? null;
      return { key: entry.task.id, signature: `${entry.task.version}:${entry.depth}:${holder}:${waiting}:${changedBy}`, holder, waitingFor: waiting, changedBy, ...entry };
    }),
    (entry) => taskItem(entry, openTask),
  );
  $("#task-empty").hidden = tree.length > 0;
  $("#task-count").textContent = String(tasks.length);
  for (const button of $("#status-filter").children) {
    const count = button.dataset.status === "all" ? tasks.length : tasks.filter((t) => t.status === button.dataset.status).length;
    button.querySelector(".n").textContent = String(count);
    button.setAttribute("aria-pressed", String(button.dataset.status === ui.filter));
  }
}

function renderSessions() {
  const sessions = store.sessionList();
  const tasks = store.taskList();
  patchList(
    $("#session-list"),
    sessions.map((session) => {
      const mine = session.taskIds.map((id) => store.tasks.get(id)).filter(Boolean);
      const available = tasks.filter((t) => !session.taskIds.includes(t.id));
      const expanded = ui.expanded.has(session.id);
      const signature = [session.version, expanded, ...mine.map((t) => `${t.id}@${t.version}`), ...available.map((t) => `${t.id}@${t.version}`)].join(",");
      return { key: session.id, signature, session, tasks: mine, available, expanded };
    }),
    (item) => sessionItem(item, sessionActions),
  );
  $("#session-empty").hidden = sessions.length > 0;
  $("#session-count").textContent = String(sessions.length);
}

function renderDialog() {
  const dialog = $("#task-dialog");
  if (!ui.editing || !dialog.open) return;
  const task = store.tasks.get(ui.editing.id);
  const meta = dialog.querySelector(".meta");
  if (!task) {
    meta.textContent = "This task was deleted.";
    return;
  }
  const sessions = task.sessionCount ? ` · in ${task.sessionCount} session${task.sessionCount === 1 ? "" : "s"}` : "";
  const claim = task.claim
    ? ` · claimed by ${store.sessions.get(task.claim.sessionId)?.name ?? task.claim.sessionId} until ${new Date(task.claim.expiresAt).toLocaleTimeString()}`
    : "";
  const by = store.changedBy.get(task.id);
  const changed = by ? ` · last changed by ${by}` : "";
  meta.textContent = `${task.id} · version ${task.version}${sessions}${claim}${changed}`;
}

function showConnection(state) {
  const element = $("#connection");
  element.dataset.state = state;
  element.querySelector(".label").textContent = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", offline: "offline" }[state];
}

function notify(message) {
  const notice = $("#notice");
  notice.querySelector(".message").textContent = message;
  notice.hidden = false;
}

function reportError(error) {
  notify(error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`);
}

// --- actions --------------------------------------------------------------------------------

async function switchProject(projectId) {
  history.replaceState(null, "", projectId ? `#${projectId}` : location.pathname);
  ui.expanded.clear();
  try {
    await loadProject(projectId);
  } catch (error) {
    reportError(error);
  }
}

async function fetchTask(id) {
  // The whole task, for a copy an event left without its text (see store.js).
  try {
    const { data, seq } = await api.task(id);
    store.put("task", data, seq);
    store.changed();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) reportError(error); // 404: deleted meanwhile
  }
}

async function openTask(id) {
  if (store.tasks.has(id) && !store.complete("task", id)) await fetchTask(id);
  const task = store.tasks.get(id);
  if (!task || !store.complete("task", id)) return;
  // The baseline is what the user started from: only fields they changed are sent, so a
  // save never reverts someone else's edit of another field.
  const baseline = Object.fromEntries(EDITABLE.map((field) => [field, task[field]]));
  ui.editing = { id, version: task.version, baseline };
  const form = $("#task-form");
  for (const field of EDITABLE) form.elements[field].value = task[field];
  form.querySelector(".conflict").hidden = true;
  $("#task-dialog").showModal();
  renderDialog();
  form.elements.title.focus();
}

async function saveTask(override = false) {
  const form = $("#task-form");
  const { id, version, baseline } = ui.editing;
  const changes = {};
  for (const field of EDITABLE) {
    const value = form.elements[field].value;
    if (value !== baseline[field]) changes[field] = value;
  }
  try {
    // If-Match: the version this edit started from. A change made meanwhile by anyone
    // else makes the server refuse it instead of silently overwriting it.
    const { data, seq } = await api.updateTask(id, changes, version, override);
    store.put("task", data, seq);
    store.changed();
    $("#task-dialog").close();
    ui.editing = null;
  } catch (error) {
    if (error instanceof ApiError && error.code === "version_conflict") {
      const current = error.details.current;
      store.put("task", current, 0);
      store.changed();
      ui.editing.version = current.version;
      const conflict = form.querySelector(".conflict");
      conflict.textContent =
        `Someone else changed this task while you were editing: it is now “${current.title}”, ` +
        `${TASK_STATUS_LABEL[current.status]}, ${current.priority} priority (version ${current.version}). ` +
        "Your changes were not saved. Save again to apply just your changes on top.";
      conflict.hidden = false;
    } else if (error instanceof ApiError && error.code === "claim_conflict" && !override) {
      // An agent holds this task. A human may take over, but only saying so.
      const claim = error.details.claim;
      const holder = store.sessions.get(claim.sessionId)?.name ?? claim.sessionId;
      const until = new Date(claim.expiresAt).toLocaleTimeString();
      // One override passes both rules: say so when the change also starts or completes
      // a task whose dependencies are not completed.
      const status = changes.status;
      const waiting = ["in_progress", "completed"].includes(status)
        ? (store.tasks.get(id)?.dependsOn ?? []).filter((d) => store.tasks.get(d)?.status !== "completed")
        : [];
      const also = waiting.length
        ? ` It also waits for ${waiting.map((d) => `“${store.tasks.get(d)?.title ?? d}”`).join(", ")}.`
        : "";
      if (confirm(`“${holder}” has claimed this task until ${until}.${also} Override and save?`)) {
        await saveTask(true);
      }
    } else if (error instanceof ApiError && error.code === "not_ready" && error.details?.waitingFor && !override) {
      // Work waits for its dependencies; a person may start it anyway, saying so.
      const titles = error.details.waitingFor.map((id) => `“${store.tasks.get(id)?.title ?? id}”`);
      if (confirm(`This task waits for ${titles.join(", ")} to be completed. Save it anyway?`)) {
        await saveTask(true);
      }
    } else {
      reportError(error);
    }
  }
}

async function deleteTask() {
  const { id, version } = ui.editing;
  const task = store.tasks.get(id);
  if (!confirm(`Delete “${task ? task.title : id}” and its sub-tasks?`)) return;
  try {
    await api.deleteTask(id, version);
    $("#task-dialog").close();
    ui.editing = null;
  } catch (error) {
    reportError(error);
  }
}

const sessionActions = {
  toggle(id) {
    if (ui.expanded.has(id)) ui.expanded.delete(id);
    else ui.expanded.add(id);
    renderSessions();
    document.querySelector(`.session[data-id="${id}"] .expand`)?.focus();
  },
  async addTask(sessionId, taskId) {
    try {
      await api.addTask(sessionId, taskId);
    } catch (error) {
      reportError(error);
    }
  },
  async removeTask(sessionId, taskId) {
    try {
      await api.removeTask(sessionId, taskId);
    } catch (error) {
      reportError(error);
    }
  },
  async setStatus(id, status) {
    const session = store.sessions.get(id);
    if (!session) return;
    try {
      const { data, seq } = await api.updateSession(id, { status }, session.version);
      store.put("session", data, seq);
      store.changed();
    } catch (error) {
      if (error instanceof ApiError && error.code === "version_conflict") {
        store.put("session", error.details.current, 0);
        store.changed();
        notify(`“${session.name}” was changed by someone else meanwhile; check its status and try again.`);
      } else {
        reportError(error);
      }
    }
  },
  async close(id) {
    const session = store.sessions.get(id);
    if (!session || !confirm(`Close session “${session.name}”? Its tasks stay.`)) return;
    try {
      await api.deleteSession(id, session.version);
    } catch (error) {
      reportError(error);
    }
  },
};

// --- wiring ---------------------------------------------------------------------------------

function buildFilters() {
  const container = $("#status-filter");
  for (const status of ["all", ...TASK_STATUSES]) {
    container.append(
      h(
        "button",
        { type: "button", class: "chip", dataset: { status }, "aria-pressed": String(status === "all"), onclick: () => { ui.filter = status; renderTasks(); } },
        status === "all" ? "all" : TASK_STATUS_LABEL[status],
        " ",
        h("span", { class: "n" }, "0"),
      ),
    );
  }
}

// The choices and limits of the forms, from the server's vocabulary: the page has none of its own.
function buildForms() {
  options($("#new-task").elements.priority, TASK_PRIORITIES, DEFAULTS.taskPriority);
  options($("#task-form").elements.status, TASK_STATUSES, DEFAULTS.taskStatus);
  options($("#task-form").elements.priority, TASK_PRIORITIES, DEFAULTS.taskPriority);
  for (const input of document.querySelectorAll("[data-limit]")) input.maxLength = LIMITS[input.dataset.limit];
}

function wire() {
  buildFilters();
  buildForms();
  $("#project-select").addEventListener("change", (event) => switchProject(event.target.value));
  $("#notice .dismiss").addEventListener("click", () => { $("#notice").hidden = true; });

  $("#new-task").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { projectId: store.projectId, title: form.elements.title.value, priority: form.elements.priority.value };
    try {
      await api.createTask(body);
      form.elements.title.value = "";
    } catch (error) {
      reportError(error);
    }
  });

  $("#new-session").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { projectId: store.projectId, name: form.elements.name.value, agent: form.elements.agent.value || null };
    try {
      await api.createSession(body);
      form.reset();
    } catch (error) {
      reportError(error);
    }
  });

  const taskForm = $("#task-form");
  taskForm.addEventListener("submit", (event) => {
    event.preventDefault();
    saveTask();
  });
  taskForm.querySelector('[data-action="cancel"]').addEventListener("click", () => $("#task-dialog").close());
  taskForm.querySelector('[data-action="delete"]').addEventListener("click", deleteTask);
  $("#task-dialog").addEventListener("close", () => { ui.editing = null; });

  $("#new-project").addEventListener("click", () => {
    $("#project-form").reset();
    $("#project-dialog").showModal();
  });
  const projectForm = $("#project-form");
  projectForm.querySelector('[data-action="cancel"]').addEventListener("click", () => $("#project-dialog").close());
  projectForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: projectForm.elements.name.value, workingDir: projectForm.elements.workingDir.value || null };
    try {
      const { data, seq } = await api.createProject(body);
      store.put("project", data, seq);
      $("#project-dialog").close();
      await switchProject(data.id);
    } catch (error) {
      reportError(error);
    }
  });

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "n" && !typing && !event.metaKey && !event.ctrlKey && !document.querySelector("dialog[open]")) {
      event.preventDefault();
      $("#new-task input[name=title]").focus();
    }
  });
}

// --- the access token -----------------------------------------------------------------------

let needsToken = false;

function askForToken(message = "") {
  needsToken = true;
  const dialog = $("#token-dialog");
  const problem = dialog.querySelector(".conflict");
  problem.textContent = message;
  problem.hidden = !message;
  if (!dialog.open) dialog.showModal();
}

function wireTokenDialog() {
  const dialog = $("#token-dialog");
  const form = $("#token-form");
  // Without the token there is nothing to show: the dialog stays, even after Esc (which
  // Chromium lets a page refuse only once).
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  dialog.addEventListener("close", () => {
    if (needsToken) dialog.showModal();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    auth.remember(form.elements.token.value.trim(), form.elements.remember.checked);
    try {
      await api.projects();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        askForToken("That token was not accepted (revoked, or mistyped). Ask for yours: maestro token create.");
      } else {
        askForToken(error.message);
      }
      return;
    }
    needsToken = false;
    form.reset();
    dialog.close();
    if (!started) await start();
    else if (!feed.socket) feed.connect();
  });
  auth.onUnauthorized = (error, token) => {
    auth.forget(token);
    askForToken(started ? "The server asks for its access token again." : "");
  };
}

// --- start ------------------------------------------------------------------------------------

let started = false;

async function start() {
  try {
    await loadAll();
  } catch (error) {
    // Without the token there is nothing to show: the dialog asks, then starts again.
    if (error instanceof ApiError && error.status === 401) return;
    reportError(error);
  }
  started = true;
  render();
  feed.connect();
}

async function main() {
  wire();
  wireTokenDialog();
  store.subscribe(render);
  showConnection("connecting");
  await start();
}

main();
