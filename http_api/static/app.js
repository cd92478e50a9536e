// The board: a snapshot with the seq it is consistent with, then the live feed from that
// seq, all into one store; every view renders from the store, once per animation frame
// however many events arrived in it.
//
// What the person looks at (project, view, filters, open task, open thread) lives in the
// URL (router.js); the activity feed and a task's history are timelines (activity.js)
// joined from REST pages and the feed.
//
// Beyond tasks, the people answer the agents' questions (questions.js: at the top, in the
// tab's title and a desktop notification), read and write messages (messages.js: the
// Messages view) and see who holds which files (files.js: on each session and in the
// Files section). Their snapshots come after the first view, joined with the feed by
// the store's rules (store.js), so the first view waits for none of them.

import { ago, aboutTask, ACTIVITY_PAGE, matches, projectOf, Timeline } from "./activity.js";
import { api, ApiError, auth } from "./api.js";
import { lineSignature, renderStory } from "./detail.js";
import { Feed } from "./feed.js";
import { renderFiles, renderSessionFiles } from "./files.js";
import { agentName, SESSION_STATUS_LABEL, TASK_STATUS_LABEL } from "./labels.js";
import { plainText } from "./markdown.js";
import { addressName, recipientChoice, recipientChoices, renderInbox, replyAddresses, threadById } from "./messages.js";
import { renderDeadlines, renderQuestions } from "./questions.js";
import { readUrl, urlOf, VIEWS, writeUrl } from "./router.js";
import { NOTES_KEPT, Store, unreadBy } from "./store.js";
import { countText, h, lineItem, noteItem, options, patchList, sessionItem, setHidden, setText, taskCard, taskItem, taskTree } from "./views.js";
import { ADDRESSES, DEFAULTS, LIMITS, MESSAGE_LIMITS, QUESTION_LIMITS, READ_SCOPE, TASK_PRIORITIES, TASK_STATUSES } from "./vocabulary.js";

const EDITABLE = ["title", "status", "priority", "description", "prompt"];
const NOTES_SHOWN = 50; // notes fetched when a session is opened (then live)
const NOTIFY_KEY = "maestro.notify";
const ALERT_DELAY = 300; // ms a desktop notification waits for the rest of its write
const PAGES_PER_LOAD = 10; // at most this many pages read for one "Show older"

const store = new Store();
store.onIncomplete = (kind, id) => {
  if (kind === "task") fetchTask(id);
};
let view = readUrl();
const ui = {
  expanded: new Set(),
  editing: null, // { id, version, baseline } while the task form is open
  firstView: false,
  focusCard: null, // { id, status }: a Kanban card to give focus back to once it moved there
  statusSeen: new Map(), // session id -> last status seen (for needs_input transitions)
  alerts: new Set(), // sessions that just started to need input: a desktop notification each
  alertTimer: null,
  pushedTask: null, // the task whose panel a new history entry opened
  moveTarget: null, // { id, status }: the column a Kanban card is to move to (keyboard)
  moving: false, // a card's move is on its way (its focus moves with it)
  notesLoading: new Set(), // sessions whose notes are being fetched
  notesOlder: new Set(), // sessions whose fetch brought NOTES_SHOWN notes: there may be older ones
  // The browser's answer about desktop notifications, read once (Notification.permission
  // is a round trip to the browser: not a question for every frame) and after asking.
  notifyPermission: "Notification" in window ? Notification.permission : "denied",
  me: "", // this board's own name as an actor (GET /api/me): its lines read "you"
  // The board's token may only read (GET /api/me): it marks nothing read, and shows no
  // control that writes (answers, "New message", the reply box, "Acknowledge", "Release").
  readOnly: false,
  searchCache: new Map(), // task id -> { version, text }: what the text filter searches
  questionAlerts: new Set(), // questions just asked: a desktop notification each
  questionsSeen: new Set(), // questions this page has known open (asked before: no alert)
  answering: new Set(), // questions whose answer is on its way
  focusQuestions: false, // an answered question left: focus goes to the next one
  messagesLoaded: null, // the project whose newest messages were read (the Messages view)
  messagesLoading: false,
  threadsLoaded: new Set(), // threads read whole (the newest page of them)
  threadLoading: null, // the thread being read
  sentHere: new Set(), // messages this page sent: opening their thread does not mark them read
  // Threads with a reply of this page on its way (thread id -> how many): their new
  // messages are not marked read until it is back, since the feed may bring the reply
  // before the answer that says it is this page's (sentHere).
  sending: new Map(),
  marking: new Set(), // messages being marked read
  // The project's load brought as many as one listing returns: there may be more ("+").
  unreadCapped: false, // unread messages for the people
  questionsCapped: false, // open questions
  messagesCapped: false, // the Messages view's newest messages (older threads not listed)
  composing: false, // the new-message form is open
};
const activity = new Timeline();
const taskHistory = new Timeline();
const $ = (selector) => document.querySelector(selector);

// --- navigation -----------------------------------------------------------------------------

// Change what is looked at: the URL first, then the page follows it.
function navigate(changes, { push = true } = {}) {
  const before = view;
  // A task opened by a new history entry closes by going back to the one before.
  if ("task" in changes) ui.pushedTask = push && changes.task ? changes.task : null;
  view = { ...view, ...changes };
  writeUrl(view, { push });
  follow(before);
}

// Make the page show `view`, coming from `before` (also after the back button).
function follow(before) {
  if (view.project !== before.project && started) {
    switchProject(view.project);
    return;
  }
  syncActivity();
  syncMessages();
  if (view.task !== before.task || $("#task-panel").open !== Boolean(view.task)) syncPanel();
  store.changed();
}

const links = {
  task: (id, title) =>
    h("a", { href: urlOf({ ...view, task: id }), class: "task-link", onclick: (event) => followLink(event, { task: id }) }, title),
  session: (id, name) =>
    h(
      "a",
      { href: urlOf({ ...view, session: id, agent: "", task: null }), class: "session-link", onclick: (event) => followLink(event, { session: id, agent: "", task: null }) },
      name,
    ),
};

function followLink(event, changes) {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab
  event.preventDefault();
  navigate(changes);
}

// --- loading -------------------------------------------------------------------------------

async function loadProject(projectId) {
  store.switchProject(projectId);
  ui.statusSeen.clear();
  ui.searchCache.clear();
  ui.questionsSeen.clear();
  ui.notesOlder.clear();
  ui.unreadCapped = ui.questionsCapped = ui.messagesCapped = false;
  ui.messagesLoaded = null;
  ui.threadsLoaded.clear();
  if (!projectId) return null;
  syncActivity(); // its first page comes alongside the snapshot
  const snapshot = Promise.all([
    api.tasks(projectId),
    api.sessions(projectId),
    api.latestNotes(projectId), // each session's newest note, to show beside it
  ]);
  loadCoordination(projectId); // asked for now, not waited for
  syncMessages();
  const [tasks, sessions, notes] = await snapshot;
  store.loadProject(projectId, tasks.data, sessions.data, Math.min(tasks.seq, sessions.seq));
  for (const note of notes.data) store.addNotes(note.sessionId, [note]); // newer ones come live
  for (const session of sessions.data) ui.statusSeen.set(session.id, session.status);
  ui.firstView = true; // the next render is this project's first view (see timing below)
  return Math.min(tasks.seq, sessions.seq);
}

// The project's open questions, live file reservations and the messages the people have
// not read. Each is joined with what the feed brought meanwhile (store.js), so it may come
// after the first view and after the feed resumed: nothing is missed, nothing doubled.
async function loadCoordination(projectId) {
  try {
    const [questions, reservations, unread] = await Promise.all([
      api.questions(projectId, "open", QUESTION_LIMITS.list),
      api.reservations(projectId),
      api.messages({ projectId, recipient: ADDRESSES.humans, unread: true, newest: true, limit: MESSAGE_LIMITS.list }),
    ]);
    if (store.projectId !== projectId) return; // another project came meanwhile
    // Open when the page loaded: no desktop notification for those.
    for (const question of questions.data) ui.questionsSeen.add(question.id);
    store.loadCoordination(projectId, { questions: questions.data }, questions.seq);
    store.loadCoordination(projectId, { reservations: reservations.data }, reservations.seq);
    store.loadCoordination(projectId, { messages: unread.data }, unread.seq);
    ui.unreadCapped = unread.data.length >= MESSAGE_LIMITS.list;
    ui.questionsCapped = questions.data.length >= QUESTION_LIMITS.list;
    showWaitingInTitle();
  } catch (error) {
    if (store.projectId === projectId) reportError(error);
  }
}

// The Messages view's data: the project's newest messages once it is first shown, and
// each thread whole (its newest page) once opened; then the feed keeps them current.
function syncMessages() {
  const projectId = store.projectId;
  if (!projectId || view.view !== "messages") return;
  if (ui.messagesLoaded !== projectId && !ui.messagesLoading) loadMessages(projectId);
  if (view.thread && !ui.threadsLoaded.has(view.thread) && ui.threadLoading !== view.thread) loadThread(projectId, view.thread);
  else if (view.thread) markThreadRead(view.thread);
}

async function loadMessages(projectId) {
  ui.messagesLoading = true;
  try {
    const { data, seq } = await api.messages({ projectId, newest: true, limit: MESSAGE_LIMITS.list });
    store.loadCoordination(projectId, { messages: data }, seq);
    if (store.projectId === projectId) {
      ui.messagesLoaded = projectId;
      ui.messagesCapped = data.length >= MESSAGE_LIMITS.list;
    }
  } catch (error) {
    reportError(error);
  } finally {
    ui.messagesLoading = false;
    store.changed();
  }
  if (store.projectId !== projectId) syncMessages(); // another project came meanwhile
}

async function loadThread(projectId, threadId) {
  ui.threadLoading = threadId;
  store.changed();
  try {
    const { data, seq } = await api.messages({ threadId, newest: true, limit: MESSAGE_LIMITS.list });
    store.loadCoordination(projectId, { messages: data }, seq);
    ui.threadsLoaded.add(threadId);
  } catch (error) {
    reportError(error);
  } finally {
    if (ui.threadLoading === threadId) ui.threadLoading = null;
    store.changed();
  }
  if (view.thread === threadId) markThreadRead(threadId);
}

// Opening a thread (or a message arriving in the one open, while the page is seen) reads
// it for the people: the messages addressed to them not read yet, but those this page
// sent itself (they are news for the other people, not for the person who wrote them).
async function markThreadRead(threadId) {
  if (ui.readOnly || document.visibilityState !== "visible" || view.view !== "messages" || view.thread !== threadId) return;
  if (ui.sending.has(threadId)) return; // marked once the reply is back (sendMessage)
  const thread = threadById(store, threadId);
  const unread = (thread?.messages ?? [])
    .filter((message) => unreadBy(message, ADDRESSES.humans) && !ui.sentHere.has(message.id) && !ui.marking.has(message.id))
    .map((message) => message.id);
  for (let start = 0; start < unread.length; start += MESSAGE_LIMITS.readPerCall) {
    const ids = unread.slice(start, start + MESSAGE_LIMITS.readPerCall);
    for (const id of ids) ui.marking.add(id);
    try {
      const { data } = await api.markRead(ADDRESSES.humans, ids);
      for (const message of data) store.putMessage(message);
      store.changed();
    } catch (error) {
      reportError(error);
      return;
    } finally {
      for (const id of ids) ui.marking.delete(id);
    }
  }
}

async function loadAll() {
  const projects = await api.projects();
  store.loadProjects(projects.data, projects.seq);
  const chosen = store.projects.has(view.project) ? view.project : projects.data[0]?.id ?? null;
  if (chosen !== view.project) {
    view = { ...view, project: chosen, task: null }; // a task of a project not here: none
    writeUrl(view);
  }
  activity.reset("", () => false); // a new snapshot: the timelines start again from the server
  taskHistory.reset("", () => false);
  const projectSeq = await loadProject(chosen);
  // Resume from the oldest snapshot: events after it are applied once more, and the
  // store keeps only newer versions, so nothing is missed and nothing goes backwards.
  store.seq = Math.min(projects.seq, projectSeq ?? projects.seq);
  syncPanel();
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

// Every live event, once applied to the store: the timelines, notes and attention.
store.onApplied = (message) => {
  const shown = activity.addLive(message) | taskHistory.addLive(message); // both, always
  const { event, data } = message;
  if (event.startsWith("question:") && data.projectId === store.projectId) {
    if (event === "question:asked" && !ui.questionsSeen.has(data.id)) {
      ui.questionAlerts.add(data.id);
      scheduleAlerts();
      const session = store.sessions.get(data.sessionId);
      announce(`${agentName(session)} asks: ${plainText(data.text, 200)}`);
    }
    ui.questionsSeen.add(data.id);
    showWaitingInTitle(); // (a tab in the background: see below)
  }
  if (event === "message:sent" && data.threadId === view.thread && data.projectId === store.projectId) {
    markThreadRead(data.threadId); // the person is reading this thread
  }
  if (message.event === "session:updated" || message.event === "session:created") {
    const { id, status } = message.data;
    const before = ui.statusSeen.get(id);
    ui.statusSeen.set(id, status);
    if (status === "needs_input" && before !== "needs_input" && message.data.projectId === store.projectId) {
      ui.alerts.add(id);
      scheduleAlerts();
    }
    // Here, not only in a frame: a tab in the background gets no animation frames, and it
    // is the tab whose title must say that someone waits.
    showWaitingInTitle();
  }
  return Boolean(shown);
};

// A desktop notification per session that started to need input. The note that says why
// usually comes in the same write, a message or two later: the notification waits a
// moment for it (a timer: it runs in a background tab, where frames do not).
// A question says why its session waits: it has a notification of its own, and its
// session's needs_input (the same write) none.
function scheduleAlerts() {
  if (ui.alertTimer) return;
  ui.alertTimer = setTimeout(() => {
    ui.alertTimer = null;
    const open = store.openQuestions();
    for (const id of ui.questionAlerts) {
      const question = store.questions.get(id);
      if (question?.status === "open") questionNotification(question);
    }
    for (const id of ui.alerts) {
      const session = store.sessions.get(id);
      if (session?.status === "needs_input" && !open.some((q) => q.sessionId === id)) desktopNotification(session);
    }
    ui.alerts.clear();
    ui.questionAlerts.clear();
  }, ALERT_DELAY);
}

// The activity timeline follows the project and the session/agent filter.
function syncActivity() {
  const key = `${store.projectId}|${view.session}|${view.agent}`;
  if (!store.projectId || activity.key === key) return;
  const filter = { session: view.session, agent: view.agent };
  activity.reset(key, (message) => projectOf(message, store) === store.projectId && matches(message, filter, store));
  loadActivity();
}

// Read older pages of a timeline until a page's worth of lines shows (or the log ends):
// many events only echo others (lease renewals, activity times) and show nothing.
async function loadOlder(timeline, fetchPage, onPage = () => {}) {
  const generation = timeline.generation;
  timeline.loading = true;
  store.changed();
  try {
    let shown = 0;
    for (let pages = 0; pages < PAGES_PER_LOAD; pages++) {
      const before = timeline.loaded ? timeline.next ?? undefined : undefined;
      const { data } = await fetchPage(before);
      const added = timeline.addPage(data, generation);
      if (added < 0) return; // the timeline was reset meanwhile: this answer is stale
      onPage(data);
      shown += added;
      if (shown >= ACTIVITY_PAGE / 2 || timeline.next === null) break;
    }
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) reportError(error); // 404: gone meanwhile
  } finally {
    if (generation === timeline.generation) timeline.loading = false;
    store.changed();
  }
}

function loadActivity() {
  const projectId = store.projectId;
  const filter = { sessionId: view.session || undefined, agent: view.agent || undefined };
  return loadOlder(
    activity,
    (before) => api.activity(projectId, { ...filter, before, limit: ACTIVITY_PAGE }),
    (page) => {
      for (const message of page.events) {
        if (message.event === "session:note_added") store.addNotes(message.data.sessionId, [message.data.note]);
      }
    },
  );
}

function loadHistory() {
  const taskId = taskHistory.key;
  return loadOlder(taskHistory, (before) => api.history(taskId, { before, limit: ACTIVITY_PAGE }));
}

// A session's log, once it is opened: held (empty) from now on so that notes arriving live
// while the fetch is out are kept, then joined with the fetched ones by id.
async function loadNotes(sessionId) {
  if (ui.notesLoading.has(sessionId)) return;
  ui.notesLoading.add(sessionId);
  store.addNotes(sessionId, [], { whole: true });
  try {
    const { data } = await api.notes(sessionId, NOTES_SHOWN);
    store.addNotes(sessionId, data, { whole: true });
    if (data.length >= NOTES_SHOWN) ui.notesOlder.add(sessionId);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) reportError(error); // closed meanwhile
  } finally {
    ui.notesLoading.delete(sessionId);
    store.changed();
  }
}

// --- filtering -----------------------------------------------------------------------------

function searchText(task) {
  const cached = ui.searchCache.get(task.id);
  if (cached && cached.version === task.version) return cached.text;
  const text = [task.id, task.title, task.description ?? "", task.prompt ?? "", ...(task.labels ?? [])].join("\n").toLowerCase();
  ui.searchCache.set(task.id, { version: task.version, text });
  return text;
}

// The tasks the filters keep (all of them but the status filter: the list applies that,
// the Kanban shows every status as a column).
function filteredTasks() {
  const query = view.q.trim().toLowerCase();
  const agentSessions = view.agent
    ? new Set([...store.sessions.values()].filter((s) => s.agent === view.agent).map((s) => s.id))
    : null;
  return store.taskList().filter((task) => {
    if (view.label && !(task.labels ?? []).includes(view.label)) return false;
    if (view.session && !(task.sessionIds ?? []).includes(view.session) && task.claim?.sessionId !== view.session) return false;
    if (agentSessions && !(task.sessionIds ?? []).some((id) => agentSessions.has(id)) && !agentSessions.has(task.claim?.sessionId)) return false;
    if (query && !searchText(task).includes(query)) return false;
    return true;
  });
}

function holderName(claim) {
  return claim ? store.sessions.get(claim.sessionId)?.name ?? claim.sessionId : null;
}

function waitingFor(task) {
  return task.dependsOn.filter((id) => store.tasks.get(id)?.status !== "completed").length;
}

function entryOf(task, depth = 0) {
  const holder = holderName(task.claim);
  const waiting = waitingFor(task);
  const changedBy = store.changedBy.get(task.id) ?? null;
  return { key: task.id, signature: `${task.version}:${depth}:${holder}:${waiting}:${changedBy}`, task, depth, holder, waitingFor: waiting, changedBy };
}

// --- rendering ------------------------------------------------------------------------------

function render() {
  renderProjects();
  const hasProject = Boolean(store.projectId);
  $("#board").hidden = !hasProject;
  $("#welcome").hidden = hasProject || store.projects.size > 0;
  setHidden($("#read-only"), !ui.readOnly);
  if (hasProject) {
    renderFilters();
    renderQuestions($("#questions"), { store, links, answer: answerQuestion, readOnly: ui.readOnly, capped: ui.questionsCapped });
    if (ui.focusQuestions) {
      ui.focusQuestions = false;
      const next = store.openQuestions()[0];
      if (next) focusQuestion(next.id);
    }
    renderTasks();
    renderMessages();
    renderSessions();
    const held = renderFiles($("#file-list"), $("#file-empty"), { store, links, release: releaseReservation, readOnly: ui.readOnly });
    setText($("#file-count"), String(held));
    renderActivity();
    renderPanel();
  }
  renderAttention();
  announceRender();
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
    navigate({ project: projects[0]?.id ?? null, task: null, thread: null }, { push: false });
  } else if (!store.projectId && projects.length > 0 && started) {
    // The first project appeared, created elsewhere (an agent, the CLI): show it.
    navigate({ project: projects[0].id, thread: null }, { push: false });
  }
}

function renderFilters() {
  $("#board").dataset.view = view.view;
  for (const button of $("#view-switch").children) button.setAttribute("aria-pressed", String(button.dataset.view === view.view));
  const form = $("#filters");
  if (document.activeElement !== form.elements.q && form.elements.q.value !== view.q) form.elements.q.value = view.q;

  const labels = [...store.memo("labels", () => [...new Set(store.taskList().flatMap((task) => task.labels ?? []))].sort())];
  if (view.label && !labels.includes(view.label)) labels.push(view.label);
  patchList(
    form.elements.label,
    [{ key: "", signature: "" }, ...labels.map((label) => ({ key: `l:${label}`, signature: label, label }))],
    ({ label }) => h("option", { value: label ?? "" }, label ?? "any"),
  );
  form.elements.label.value = view.label;

  const sessions = store.sessionList();
  const agents = [...new Set(sessions.map((s) => s.agent).filter(Boolean))].sort();
  const choices = [
    { key: "", signature: "", value: "", text: "anyone" },
    ...agents.map((agent) => ({ key: `a:${agent}`, signature: agent, value: `agent:${agent}`, text: `agent ${agent}` })),
    ...sessions.map((s) => ({ key: `s:${s.id}`, signature: `${s.name}|${s.agent}`, value: `session:${s.id}`, text: s.agent ? `${s.name} (${s.agent})` : s.name })),
  ];
  patchList(form.elements.who, choices, (choice) => h("option", { value: choice.value }, choice.text));
  form.elements.who.value = view.session ? `session:${view.session}` : view.agent ? `agent:${view.agent}` : "";
  $("#clear-filters").hidden = !(view.q || view.label || view.session || view.agent || view.status !== "all");
}

function renderTasks() {
  const messages = view.view === "messages";
  setHidden($(".tasks"), messages);
  if (messages) return; // hidden: nothing to patch
  const all = store.taskList();
  const kept = filteredTasks();
  const kanban = view.view === "kanban";
  $("#task-list").hidden = kanban;
  $("#kanban").hidden = !kanban;
  $("#kanban-help").hidden = !kanban;
  $("#status-filter").hidden = kanban;
  $("#task-count").textContent = kept.length === all.length ? String(all.length) : `${kept.length} of ${all.length}`;
  if (kanban) {
    renderKanban(kept);
    $("#task-empty").hidden = kept.length > 0;
    return;
  }
  const narrowed = kept.length !== all.length;
  const shown = view.status === "all" ? kept : kept.filter((t) => t.status === view.status);
  // The tree only when every task is there: a filtered list is flat.
  const entries = view.status === "all" && !narrowed ? taskTree(shown) : shown.map((task) => ({ task, depth: 0 }));
  patchList(
    $("#task-list"),
    entries.map((entry) => entryOf(entry.task, entry.depth)),
    (entry) => taskItem(entry, (id) => navigate({ task: id })),
  );
  $("#task-empty").hidden = entries.length > 0;
  const counts = new Map();
  for (const task of kept) counts.set(task.status, (counts.get(task.status) ?? 0) + 1);
  for (const button of $("#status-filter").children) {
    const status = button.dataset.status;
    button.querySelector(".n").textContent = String(status === "all" ? kept.length : counts.get(status) ?? 0);
    button.setAttribute("aria-pressed", String(status === view.status));
  }
}

const kanbanActions = {
  open: (id) => navigate({ task: id }),
  step(id, by) {
    const task = store.tasks.get(id);
    if (!task) return;
    const from = ui.moveTarget?.id === id ? ui.moveTarget.status : task.status;
    const index = TASK_STATUSES.indexOf(from) + by;
    if (index < 0 || index >= TASK_STATUSES.length) return;
    const status = TASK_STATUSES[index];
    ui.moveTarget = status === task.status ? null : { id, status };
    announce(ui.moveTarget ? `Move “${task.title}” to ${TASK_STATUS_LABEL[status]}: press Enter, or Escape to stay.` : `“${task.title}” stays ${TASK_STATUS_LABEL[status]}.`);
    store.changed();
  },
  commit(id) {
    if (ui.moveTarget?.id !== id) return false;
    const { status } = ui.moveTarget;
    ui.moveTarget = null;
    ui.focusCard = { id, status }; // focus follows the card once it is in that column
    moveTask(id, status);
    return true;
  },
  cancel(id) {
    if (ui.moveTarget?.id !== id || ui.moving) return;
    ui.moveTarget = null;
    store.changed();
  },
};

function renderKanban(tasks) {
  const board = $("#kanban");
  if (board.children.length === 0) {
    for (const status of TASK_STATUSES) {
      const title = `column-${status}`;
      const cards = h("ul", { class: "cards", "aria-labelledby": title });
      board.append(
        h(
          "section",
          {
            class: `column status-column-${status}`,
            dataset: { status },
            "aria-labelledby": title,
            ondragover: (event) => {
              event.preventDefault();
              event.dataTransfer.dropEffect = "move";
              event.currentTarget.classList.add("drop-target");
            },
            ondragleave: (event) => event.currentTarget.classList.remove("drop-target"),
            ondrop: (event) => {
              event.preventDefault();
              event.currentTarget.classList.remove("drop-target");
              const id = event.dataTransfer.getData("text/plain");
              if (store.tasks.get(id)?.status !== status) moveTask(id, status);
            },
          },
          h("h3", { id: title }, TASK_STATUS_LABEL[status], " ", h("span", { class: "n count" }, "0")),
          cards,
        ),
      );
    }
  }
  for (const column of board.children) {
    column.classList.toggle("move-target", ui.moveTarget?.status === column.dataset.status);
  }
  const byStatus = new Map(TASK_STATUSES.map((status) => [status, []]));
  for (const task of tasks) byStatus.get(task.status)?.push(task);
  for (const column of board.children) {
    const mine = byStatus.get(column.dataset.status);
    column.querySelector(".n").textContent = String(mine.length);
    patchList(
      column.querySelector(".cards"),
      mine.map((task) => entryOf(task)),
      (entry) => taskCard(entry, kanbanActions),
    );
  }
  if (ui.focusCard) {
    // Not before: a frame drawn while the change is on its way still has the card where it was.
    const { id, status } = ui.focusCard;
    const card = board.querySelector(`.column[data-status="${status}"] .card[data-id="${CSS.escape(id)}"] .task-open`);
    if (card) {
      card.focus();
      ui.focusCard = null;
    }
  }
}

function renderSessions() {
  const sessions = store.sessionList();
  const questionsBySession = store.memo(
    "questionsBySession",
    () => {
      const bySession = new Map();
      for (const question of store.openQuestions()) bySession.set(question.sessionId, [...(bySession.get(question.sessionId) ?? []), question]);
      return bySession;
    },
    store.revisions.questions,
  );
  patchList(
    $("#session-list"),
    sessions.map((session) => {
      const expanded = ui.expanded.has(session.id) || view.session === session.id;
      const mine = session.taskIds.map((id) => store.tasks.get(id)).filter(Boolean);
      // Only an open session lists what could be added: fifty closed ones build no options.
      const available = expanded ? store.taskList().filter((t) => !session.taskIds.includes(t.id)) : [];
      if (expanded && !store.notes.has(session.id)) loadNotes(session.id); // opened by a link, or the attention chip
      const latest = store.latestNote.get(session.id) ?? null;
      const selected = view.session === session.id;
      const questions = (questionsBySession.get(session.id) ?? []);
      // What the item shows, no more: a lease renewed (a new version of a task or the
      // session) changes none of it, and an open session is not rebuilt under the
      // person's hands. Its notes are patched on their own, below.
      const signature = [
        session.name,
        session.agent,
        session.status,
        session.taskIds.length,
        expanded,
        selected,
        expanded ? "" : latest?.id,
        ...questions.map((q) => `${q.id}:${q.version}`),
        ...mine.map((t) => `${t.id}:${t.status}:${t.title}`),
        ...available.map((t) => `${t.id}:${t.title}`),
      ].join("\u0000");
      return { key: session.id, signature, session, tasks: mine, available, expanded, latest, selected, questions };
    }),
    (item) => sessionItem(item, sessionActions),
  );
  renderSessionFiles($("#session-list"), store);
  for (const id of new Set([...ui.expanded, view.session].filter(Boolean))) {
    const list = document.querySelector(`.session[data-id="${CSS.escape(id)}"] ol.notes`);
    if (list) renderNotes(list, id);
  }
  $("#session-empty").hidden = sessions.length > 0;
  $("#session-count").textContent = String(sessions.length);
}

// An open session's progress log: patched by note, and kept scrolled to the newest note
// while the person has not scrolled up to read older ones.
function renderNotes(list, sessionId) {
  const notes = store.notes.get(sessionId) ?? [];
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  patchList(list, notes.map((note) => ({ key: String(note.id), signature: "", note })), ({ note }) => noteItem(note));
  // A log longer than its box scrolls: then the keyboard must reach it too (a tab stop).
  const scrolls = list.scrollHeight > list.clientHeight;
  if (scrolls !== list.hasAttribute("tabindex")) {
    if (scrolls) list.setAttribute("tabindex", "0");
    else list.removeAttribute("tabindex");
  }
  const state = list.nextElementSibling;
  const loading = ui.notesLoading.has(sessionId) && notes.length === 0;
  // Past the newest NOTES_SHOWN fetched, or the NOTES_KEPT of a log written all day while
  // open, the log goes on in the activity timeline (which pages back).
  const older = !loading && notes.length > 0 && (ui.notesOlder.has(sessionId) || notes.length >= NOTES_KEPT);
  const text = loading ? "Loading notes…" : notes.length === 0 ? "No progress notes yet." : older ? "Older notes may be in this session's activity" : "";
  const key = older ? `${text}|${urlOf({ ...view, session: sessionId, agent: "", task: null })}` : text;
  if (state.dataset.key !== key) {
    state.dataset.key = key;
    state.replaceChildren(older ? links.session(sessionId, text) : text);
  }
  state.hidden = text === "";
  if (atEnd) list.scrollTop = list.scrollHeight;
}

function renderActivity() {
  const entries = activity.entries();
  patchList(
    $("#activity-list"),
    entries.map((entry) => ({ key: String(entry.message.seq), signature: lineSignature(entry, store), entry })),
    ({ entry }) => lineItem(entry, { store, me: ui.me, links }),
  );
  // Which timeline the list shows, once its first page is in (tests and scripts wait on it).
  $("#activity-list").dataset.loaded = activity.loaded && !activity.loading ? activity.key : "";
  const session = view.session ? store.sessions.get(view.session)?.name ?? "a session" : null;
  $("#activity-scope").textContent = session ? `of ${session}` : view.agent ? `of ${view.agent}` : "";
  const more = $("#activity-more");
  const state = activity.loading ? "loading" : activity.next !== null ? "more" : activity.loaded ? (entries.length ? "end" : "none") : "";
  if (more.dataset.state !== state) {
    more.dataset.state = state;
    more.replaceChildren(
      state === "loading"
        ? "Loading…"
        : state === "more"
          ? h("button", { type: "button", class: "ghost", onclick: () => loadActivity() }, "Show older")
          : state === "none"
            ? h("span", { class: "empty" }, "Nothing has happened here yet.")
            : "",
    );
  }
}

// The Messages view (when shown) and the people's unread count on its tab (always).
function renderMessages() {
  const unread = store.unreadForHumans().length;
  const badge = $("#unread");
  const count = unread ? countText(unread, ui.unreadCapped) : "";
  if (badge.dataset.count !== count) {
    badge.dataset.count = count;
    // The button's name reads "Messages 3 unread".
    badge.replaceChildren(count, h("span", { class: "visually-hidden" }, " unread"));
    badge.hidden = !unread;
  }
  const section = $("#messages");
  setHidden(section, view.view !== "messages");
  if (section.hidden) return;
  setHidden($("#new-message-open"), ui.readOnly);
  renderInbox(section, {
    acknowledge: acknowledgeMessage,
    readOnly: ui.readOnly,
    store,
    me: ui.me,
    links,
    threadId: view.thread,
    loading: ui.messagesLoading || (Boolean(view.thread) && ui.threadLoading === view.thread),
    capped: ui.messagesCapped,
    hrefOf: (id) => urlOf({ ...view, thread: id }),
    open: (event, id) => followLink(event, { thread: id }),
  });
  $("#thread-back").href = urlOf({ ...view, thread: null });
  if (ui.composing) patchList($("#recipient-choices"), recipientChoices(store), recipientChoice);
}

function renderPanel() {
  const panel = $("#task-panel");
  if (!view.task || !panel.open) return;
  const task = store.tasks.get(view.task);
  panel.querySelector(".gone").hidden = Boolean(task) || !store.tombstones.has(view.task);
  if (!task || !store.complete("task", task.id)) return;
  $("#task-panel-title").textContent = task.title;
  panel.querySelector('[data-action="edit"]').hidden = Boolean(ui.editing);
  renderStory(panel.querySelector(".story"), {
    task,
    store,
    history: taskHistory,
    me: ui.me,
    links,
    changedBy: store.changedBy.get(task.id) ?? null,
  });
}

// "12 s ago" for every line that shows a time, and each question's deadline, kept current.
function renderTimes() {
  const now = Date.now();
  for (const time of document.querySelectorAll("time[data-ts]")) {
    const text = ago(Number(time.dataset.ts), now);
    if (time.textContent !== text) time.textContent = text;
  }
  renderDeadlines($("#questions"), store, now);
}

// What waits for a person: each open question, and each session that needs input without
// one (a question says why its session waits: the two are one thing to answer). In the
// tab's title and a chip at the top.
function waiting() {
  return store.memo("waiting", () => {
    const questions = store.openQuestions();
    const asking = new Set(questions.map((q) => q.sessionId));
    return { questions, sessions: store.sessionList().filter((s) => s.status === "needs_input" && !asking.has(s.id)) };
  });
}

function showWaitingInTitle() {
  const { questions, sessions } = waiting();
  const count = questions.length + sessions.length;
  const project = store.projects.get(store.projectId)?.name;
  const title = project ? `Maestro · ${project}` : "Maestro";
  const tabTitle = count ? `(${countText(count, questionsCapped(questions))}) ${title}` : title;
  if (document.title !== tabTitle) document.title = tabTitle; // the browser is told only of a change
}

// Whether a count of the open questions may be short: the page loaded as many as one
// listing returns (a count of sessions in needs_input alone is not).
function questionsCapped(questions) {
  return ui.questionsCapped && questions.length > 0;
}

function attentionText({ questions, sessions }) {
  if (questions.length === 0) return sessions.length === 1 ? `${sessions[0].name} needs input` : `${sessions.length} sessions need input`;
  if (sessions.length === 0) {
    const asker = store.sessions.get(questions[0].sessionId);
    return questions.length === 1 ? `${agentName(asker)} asks a question` : `${countText(questions.length, questionsCapped(questions))} questions to answer`;
  }
  return `${countText(questions.length + sessions.length, questionsCapped(questions))} waiting for you`;
}

function renderAttention() {
  showWaitingInTitle();
  const waits = waiting();
  const chip = $("#attention");
  chip.hidden = waits.questions.length + waits.sessions.length === 0;
  const text = attentionText(waits);
  if (chip.textContent !== text) chip.textContent = text;
  // "Notify me" turns notifications on (asking the browser the first time) and off.
  const notifyButton = $("#notify");
  notifyButton.hidden = ui.notifyPermission === "denied";
  notifyButton.setAttribute("aria-pressed", String(ui.notifyPermission === "granted" && localStorage.getItem(NOTIFY_KEY) === "on"));
}

// Timing hooks for the board benchmark (bench/board.py) and anyone profiling: a mark when a
// project's first view is in the DOM (one per project loaded, so marks never pile up), and
// an event after every render naming the seq it shows (nothing is kept per render).
function announceRender() {
  const detail = { seq: store.seq, tasks: store.tasks.size, sessions: store.sessions.size, firstView: ui.firstView };
  if (ui.firstView && store.projectId) {
    ui.firstView = false;
    performance.mark("maestro:first-view", { detail });
  }
  document.dispatchEvent(new CustomEvent("maestro:rendered", { detail }));
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

function announce(message) {
  $("#announcer").textContent = message;
}

function reportError(error) {
  notify(error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`);
}

function questionNotification(question) {
  if (ui.notifyPermission !== "granted") return;
  if (localStorage.getItem(NOTIFY_KEY) !== "on" || document.visibilityState === "visible") return;
  const session = store.sessions.get(question.sessionId);
  const notice = new Notification(`${agentName(session)} asks`, {
    body: plainText(question.text, 200),
    tag: `maestro-${question.id}`,
  });
  notice.onclick = () => {
    window.focus();
    focusQuestion(question.id);
  };
}

// Bring a question into view, its first answer control focused.
function focusQuestion(id) {
  const item = document.querySelector(`#question-list .question[data-id="${CSS.escape(id)}"]`);
  if (!item) return;
  item.scrollIntoView({ block: "nearest" });
  item.querySelector("button, input")?.focus();
}

function desktopNotification(session) {
  if (ui.notifyPermission !== "granted") return;
  if (localStorage.getItem(NOTIFY_KEY) !== "on" || document.visibilityState === "visible") return;
  const latest = store.latestNote.get(session.id);
  const notice = new Notification(`${agentName(session)} needs input`, {
    body: latest ? latest.message : session.name,
    tag: `maestro-${session.id}`,
  });
  notice.onclick = () => {
    window.focus();
    navigate({ session: session.id, agent: "", task: null });
  };
}

// --- the task panel -------------------------------------------------------------------------

// Open, refresh or close the panel to match the URL's `task`.
async function syncPanel() {
  const panel = $("#task-panel");
  if (!view.task || !store.projectId) {
    if (panel.open) panel.close();
    return;
  }
  const id = view.task;
  if (taskHistory.key !== id) {
    taskHistory.reset(id, (message) => aboutTask(message, id));
    closeForm();
    panel.querySelector(".story").replaceChildren();
    loadHistory();
  }
  if (store.tasks.has(id) && !store.complete("task", id)) await fetchTask(id);
  if (view.task !== id) return; // navigated elsewhere meanwhile
  if (!store.tasks.has(id) && !store.tombstones.has(id)) {
    notify("That task is not in this project (deleted, or the link is from another server).");
    navigate({ task: null }, { push: false });
    return;
  }
  if (!panel.open) panel.showModal();
  store.changed();
}

function openForm() {
  const task = store.tasks.get(view.task);
  if (!task || !store.complete("task", task.id)) return;
  // The baseline is what the user started from: only fields they changed are sent, so a
  // save never reverts someone else's edit of another field.
  const baseline = Object.fromEntries(EDITABLE.map((field) => [field, task[field]]));
  ui.editing = { id: task.id, version: task.version, baseline };
  const form = $("#task-form");
  for (const field of EDITABLE) form.elements[field].value = task[field];
  form.querySelector(".conflict").hidden = true;
  form.hidden = false;
  store.changed();
  form.elements.title.focus();
}

function closeForm() {
  ui.editing = null;
  $("#task-form").hidden = true;
  store.changed();
}

// --- actions --------------------------------------------------------------------------------

async function switchProject(projectId) {
  ui.expanded.clear();
  try {
    await loadProject(projectId);
    syncActivity();
    syncPanel();
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

// Change a task, saying yes only with the person's word where an agent holds it or its
// dependencies are not done: the server refuses first (409), the person confirms, and the
// change goes again with the override.
async function changeTask(id, changes, version, { override = false } = {}) {
  try {
    const { data, seq } = await api.updateTask(id, changes, version, override);
    store.put("task", data, seq);
    store.changed();
    return data;
  } catch (error) {
    if (error instanceof ApiError && error.code === "claim_conflict" && !override) {
      const claim = error.details.claim;
      const holder = store.sessions.get(claim.sessionId)?.name ?? claim.sessionId;
      const until = new Date(claim.expiresAt).toLocaleTimeString();
      // One override passes both rules: say so when the change also starts or completes
      // a task whose dependencies are not completed.
      const waiting = ["in_progress", "completed"].includes(changes.status)
        ? (store.tasks.get(id)?.dependsOn ?? []).filter((d) => store.tasks.get(d)?.status !== "completed")
        : [];
      const also = waiting.length ? ` It also waits for ${waiting.map((d) => `“${store.tasks.get(d)?.title ?? d}”`).join(", ")}.` : "";
      if (confirm(`“${holder}” has claimed this task until ${until}.${also} Override and save?`)) {
        return changeTask(id, changes, version, { override: true });
      }
      return null;
    }
    if (error instanceof ApiError && error.code === "not_ready" && error.details?.waitingFor && !override) {
      // Work waits for its dependencies; a person may start it anyway, saying so.
      const titles = error.details.waitingFor.map((d) => `“${store.tasks.get(d)?.title ?? d}”`);
      if (confirm(`This task waits for ${titles.join(", ")} to be completed. Save it anyway?`)) {
        return changeTask(id, changes, version, { override: true });
      }
      return null;
    }
    throw error;
  }
}

async function moveTask(id, status) {
  const task = store.tasks.get(id);
  if (!task || ui.moving) return;
  ui.moving = true;
  try {
    const moved = await changeTask(id, { status }, task.version);
    if (moved) announce(`Moved “${task.title}” to ${TASK_STATUS_LABEL[status]}.`);
    else ui.focusCard = null;
  } catch (error) {
    ui.focusCard = null;
    if (error instanceof ApiError && error.code === "version_conflict") {
      store.put("task", error.details.current, 0);
      store.changed();
      notify(`“${task.title}” was changed by someone else meanwhile: look at it again before moving it.`);
    } else {
      reportError(error);
    }
  } finally {
    ui.moving = false;
  }
}

async function saveTask() {
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
    const saved = await changeTask(id, changes, version);
    if (saved) closeForm();
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
    closeForm();
    navigate({ task: null });
  } catch (error) {
    reportError(error);
  }
}

// A person answers an agent's question. The first answer wins: one given meanwhile
// elsewhere (another person, the deadline's default) is refused, and the server says whose.
async function answerQuestion(id, answer) {
  if (ui.answering.has(id)) return;
  const hadFocus = Boolean(document.activeElement?.closest("#question-list"));
  ui.answering.add(id);
  try {
    const { data, seq } = await api.answer(id, answer);
    store.put("question", data, seq);
    announce(`Answered “${answer}”.`);
  } catch (error) {
    if (error instanceof ApiError && error.code === "already_answered") {
      if (error.details?.question) store.put("question", error.details.question, 0);
      notify(error.message);
    } else {
      reportError(error);
    }
  } finally {
    ui.answering.delete(id);
    ui.focusQuestions = hadFocus; // the answered question leaves: focus goes on to the next
    store.changed();
  }
}

// A person releases another session's hold on files (an override: the agent may still be
// editing them), after saying so.
async function releaseReservation(id) {
  const reservation = store.reservations.get(id);
  if (!reservation) return;
  const holder = store.sessions.get(reservation.sessionId);
  const who = holder ? `${holder.agent ? `${holder.agent}, ` : ""}“${holder.name}”` : reservation.sessionId;
  if (!confirm(`Release ${reservation.pattern}, held by ${who}? Its agent may still be editing these files.`)) return;
  try {
    const { seq } = await api.releaseReservation(id);
    store.removeReservation(id, seq ?? 0);
    announce(`Released ${reservation.pattern}.`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) reportError(error); // 404: released meanwhile
  } finally {
    store.changed();
  }
}

// Send a message as the person (a new thread, or a reply in `threadId`); the message
// once it is sent. A reply's thread is not marked read while it is on its way (see
// ui.sending): then the messages that came meanwhile are, but this one.
async function sendMessage(form, body, threadId = null) {
  const problem = form.querySelector(".conflict");
  problem.hidden = true;
  if (threadId) ui.sending.set(threadId, (ui.sending.get(threadId) ?? 0) + 1);
  try {
    const { data } = await api.sendMessage({ projectId: store.projectId, ...body });
    ui.sentHere.add(data.id);
    store.putMessage(data);
    store.changed();
    return data;
  } catch (error) {
    problem.textContent = error instanceof ApiError ? error.message : `Not sent: ${error.message}`;
    problem.hidden = false;
    return null;
  } finally {
    if (threadId) {
      const left = ui.sending.get(threadId) - 1;
      if (left > 0) ui.sending.set(threadId, left);
      else {
        ui.sending.delete(threadId);
        markThreadRead(threadId);
      }
    }
  }
}

// A person acknowledges a message addressed to the people: read, and done with (every
// page then says "acknowledged by humans", from the message:read event).
async function acknowledgeMessage(id, button) {
  button.disabled = true;
  try {
    const { data } = await api.markRead(ADDRESSES.humans, [id], { ack: true });
    for (const message of data) store.putMessage(message);
    announce("Acknowledged.");
  } catch (error) {
    button.disabled = false;
    reportError(error);
  } finally {
    store.changed();
  }
}

function openCompose(open) {
  if (ui.readOnly && open) return; // nothing to send with this token
  ui.composing = open;
  const form = $("#new-message");
  form.hidden = !open;
  $("#new-message-open").setAttribute("aria-expanded", String(open));
  if (open) {
    form.querySelector(".conflict").hidden = true;
    patchList($("#recipient-choices"), recipientChoices(store), recipientChoice);
    form.querySelector("input[name=to]")?.focus();
  } else {
    form.reset();
    $("#new-message-open").focus();
  }
}

const sessionActions = {
  answer: (questionId) => focusQuestion(questionId),
  toggle(id) {
    if (ui.expanded.has(id) || view.session === id) {
      ui.expanded.delete(id);
      if (view.session === id) navigate({ session: "" });
    } else {
      ui.expanded.add(id);
    }
    renderSessions();
    document.querySelector(`.session[data-id="${CSS.escape(id)}"] .expand`)?.focus();
  },
  openTask: (id) => navigate({ task: id }),
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
      if (view.session === id) navigate({ session: "" });
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
        { type: "button", class: "chip", dataset: { status }, "aria-pressed": String(status === view.status), onclick: () => navigate({ status }, { push: false }) },
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
  // Another project: none of this one's task, filters or thread.
  $("#project-select").addEventListener("change", (event) => navigate({ project: event.target.value, task: null, thread: null, session: "", agent: "", label: "" }));
  $("#notice .dismiss").addEventListener("click", () => { $("#notice").hidden = true; });
  for (const button of $("#view-switch").children) {
    button.addEventListener("click", () => navigate({ view: button.dataset.view, thread: button.dataset.view === "messages" ? view.thread : null }));
  }

  $("#new-message-open").addEventListener("click", () => openCompose(!ui.composing));
  const compose = $("#new-message");
  compose.querySelector('[data-action="cancel"]').addEventListener("click", () => openCompose(false));
  compose.addEventListener("submit", async (event) => {
    event.preventDefault();
    const to = [...compose.querySelectorAll("input[name=to]:checked")].map((input) => input.value);
    if (to.length === 0) {
      const problem = compose.querySelector(".conflict");
      problem.textContent = "Say who the message is for: tick at least one recipient.";
      problem.hidden = false;
      return;
    }
    const sent = await sendMessage(compose, { to, subject: compose.elements.subject.value, body: compose.elements.body.value });
    if (!sent) return;
    ui.composing = false;
    compose.reset();
    compose.hidden = true;
    $("#new-message-open").setAttribute("aria-expanded", "false");
    announce(`Sent to ${to.map((address) => addressName(address, store)).join(", ")}.`);
    navigate({ thread: sent.threadId });
  });
  const reply = $("#reply");
  reply.addEventListener("submit", async (event) => {
    event.preventDefault();
    const thread = threadById(store, view.thread);
    if (!thread) return;
    const last = thread.messages.at(-1);
    const to = replyAddresses(thread, store);
    const sent = await sendMessage(reply, { replyTo: last.id, to, body: reply.elements.body.value }, thread.id);
    if (!sent) return;
    reply.reset();
    announce(`Replied to ${to.map((address) => addressName(address, store)).join(", ")}.`);
  });
  $("#thread-back").addEventListener("click", (event) => followLink(event, { thread: null }));
  // A page brought back to the front reads the thread it shows.
  document.addEventListener("visibilitychange", () => {
    if (view.thread) markThreadRead(view.thread);
  });

  const filters = $("#filters");
  filters.addEventListener("submit", (event) => event.preventDefault());
  filters.elements.q.addEventListener("input", (event) => navigate({ q: event.target.value }, { push: false }));
  filters.elements.label.addEventListener("change", (event) => navigate({ label: event.target.value }));
  filters.elements.who.addEventListener("change", (event) => {
    const [kind, value] = event.target.value.split(/:(.*)/s);
    navigate({ session: kind === "session" ? value : "", agent: kind === "agent" ? value : "" });
  });
  $("#clear-filters").addEventListener("click", () => navigate({ q: "", label: "", session: "", agent: "", status: "all" }));

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
      navigate({ project: data.id, task: null, thread: null, session: "", agent: "", label: "" });
    } catch (error) {
      reportError(error);
    }
  });

  const panel = $("#task-panel");
  const taskForm = $("#task-form");
  taskForm.addEventListener("submit", (event) => {
    event.preventDefault();
    saveTask();
  });
  taskForm.querySelector('[data-action="cancel"]').addEventListener("click", closeForm);
  taskForm.querySelector('[data-action="delete"]').addEventListener("click", deleteTask);
  panel.querySelector('[data-action="edit"]').addEventListener("click", openForm);
  panel.querySelector('[data-action="close"]').addEventListener("click", () => panel.close());
  panel.querySelector(".story").addEventListener("click", (event) => {
    if (event.target.closest('[data-action="older-history"]')) loadHistory();
  });
  // However it closes (the × button, Escape), the URL forgets the task.
  panel.addEventListener("close", () => {
    closeForm();
    if (!view.task) return;
    if (ui.pushedTask === view.task) history.back(); // back where it was opened from
    else navigate({ task: null }, { push: false });
  });

  $("#attention").addEventListener("click", () => {
    const [question] = store.openQuestions();
    if (question) {
      focusQuestion(question.id); // at the top, with its answers
      return;
    }
    for (const session of store.sessionList()) if (session.status === "needs_input") ui.expanded.add(session.id);
    renderSessions();
    document.querySelector(".session.attention .expand")?.focus();
  });
  $("#notify").addEventListener("click", async () => {
    if (ui.notifyPermission === "default") ui.notifyPermission = await Notification.requestPermission();
    const on = ui.notifyPermission === "granted" && localStorage.getItem(NOTIFY_KEY) !== "on";
    localStorage.setItem(NOTIFY_KEY, on ? "on" : "off");
    renderAttention();
  });

  window.addEventListener("popstate", () => {
    ui.pushedTask = null;
    const before = view;
    view = readUrl();
    follow(before);
  });
  // The relative times ("12 s ago") move on even when nothing happens.
  setInterval(renderTimes, 10_000);

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "n" && !typing && !event.metaKey && !event.ctrlKey && !event.altKey && !document.querySelector("dialog[open]")) {
      event.preventDefault();
      // A new task, or in the Messages view a new message.
      if (view.view === "messages") openCompose(true);
      else $("#new-task input[name=title]").focus();
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
    const [me] = await Promise.all([api.me(), loadAll()]);
    ui.me = me.data.actor; // what this board's own changes carry: they read "you"
    ui.readOnly = me.data.scope === READ_SCOPE;
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
  if (!VIEWS.includes(view.view)) view.view = "list";
  wire();
  wireTokenDialog();
  store.subscribe(render);
  showConnection("connecting");
  await start();
}

main();
