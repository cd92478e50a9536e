// Views derived from the store. Lists are patched by key: an item whose content did not
// change keeps its DOM node, so focus, an open <select> and scroll survive live updates.
// Every text an agent or a person wrote goes into the page as text (createTextNode) or
// through markdown.js: never as markup.

import { ago } from "./activity.js";
import { SESSION_STATUS_LABEL, TASK_STATUS_LABEL } from "./labels.js";
import { plainText } from "./markdown.js";
import { SESSION_STATUSES, TREE_INDENT_LEVELS } from "./vocabulary.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "dataset") Object.assign(element.dataset, value);
    // Through the CSSOM: a style attribute would be refused by the page's CSP.
    else if (key === "styleVars") for (const [name, v] of Object.entries(value)) element.style.setProperty(name, v);
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// Set what an element shows only when it changed: a render runs on every frame with news,
// and a write of the same text or state is still a change to the DOM.
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

// A count as the page shows it: "+" where what it loaded was as many as one listing
// returns, so there may be more.
export function countText(count, capped) {
  return `${count}${capped ? "+" : ""}`;
}

export function setHidden(element, hidden) {
  if (element.hidden !== hidden) element.hidden = hidden;
}

// An option per value, worded as the value itself: "in_progress" reads "in progress".
export function options(select, values, selected) {
  select.replaceChildren(...values.map((value) => h("option", { value, selected: value === selected }, value.replaceAll("_", " "))));
}

export function badge(status, labels) {
  return h("span", { class: `badge status-${status}` }, labels[status] || status);
}

// Replace `container`'s children with `items`, reusing nodes whose signature is unchanged.
// The key and signature ride on the node as plain properties: reading them back from
// data-* attributes, a thousand times a frame, costs more than the rest of the patch.
export function patchList(container, items, render) {
  const existing = new Map();
  for (let node = container.firstElementChild; node; node = node.nextElementSibling) existing.set(node._key, node);
  const wanted = items.map((item) => {
    const old = existing.get(item.key);
    if (old && old._signature === item.signature) return old;
    const node = render(item);
    node._key = item.key;
    node._signature = item.signature;
    if (old) old.replaceWith(node);
    return node;
  });
  let cursor = container.firstElementChild;
  for (const node of wanted) {
    if (cursor === node) cursor = cursor.nextElementSibling;
    else container.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
}

// Tasks in tree order: each sub-task right under its parent, with its depth. Depth first
// with a stack of its own: a chain of sub-tasks may be deeper than the JS call stack.
export function taskTree(tasks) {
  const ids = new Set(tasks.map((t) => t.id));
  const children = new Map();
  for (const task of tasks) {
    const parent = ids.has(task.parentId) ? task.parentId : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(task);
  }
  const ordered = [];
  const stack = (children.get(null) || []).map((task) => ({ task, depth: 0 })).reverse();
  while (stack.length > 0) {
    const entry = stack.pop();
    ordered.push(entry);
    const below = children.get(entry.task.id) || [];
    for (let i = below.length - 1; i >= 0; i--) stack.push({ task: below[i], depth: entry.depth + 1 });
  }
  return ordered;
}

// One formatter for every time shown: toLocaleTimeString builds one per call.
const CLOCK = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function clock(ms) {
  return CLOCK.format(ms);
}

export function labelChips(labels) {
  if (!labels || labels.length === 0) return null;
  return h("span", { class: "labels" }, labels.map((label) => h("span", { class: "label-chip" }, label)));
}

// Who holds a task and until when; who changed it last (a row and a card show both).
function claimChip(task, holder) {
  if (!task.claim) return null;
  const until = clock(task.claim.expiresAt);
  return h("span", { class: "claim", title: `Claimed by ${holder} until ${until}` }, `⚑ ${holder} · until ${until}`);
}

function actorChip(changedBy) {
  return changedBy ? h("span", { class: "actor", title: `Last changed by ${changedBy}` }, changedBy) : null;
}

// One row of the task list.
export function taskItem({ task, depth, holder, waitingFor, changedBy }, onOpen) {
  return h(
    "li",
    { class: `task priority-${task.priority}`, styleVars: { "--depth": Math.min(depth, TREE_INDENT_LEVELS) }, dataset: { id: task.id } },
    h(
      "button",
      { type: "button", class: "task-open", onclick: () => onOpen(task.id) },
      depth > TREE_INDENT_LEVELS ? h("span", { class: "level", title: `Sub-task ${depth} levels down` }, `↳${depth}`) : null,
      badge(task.status, TASK_STATUS_LABEL),
      h("span", { class: "title" }, task.title),
      labelChips(task.labels),
      waitingFor ? h("span", { class: "waiting", title: "Dependencies not completed yet" }, `waits for ${waitingFor}`) : null,
      claimChip(task, holder),
      h("span", { class: `priority p-${task.priority}` }, task.priority),
      task.sessionCount ? h("span", { class: "session-badge", title: `${task.sessionCount} sessions` }, `[${task.sessionCount}x]`) : null,
      actorChip(changedBy),
    ),
  );
}

// One card of the Kanban view: the same facts as a row, stacked.
export function taskCard({ task, holder, waitingFor, changedBy }, actions) {
  return h(
    "li",
    {
      class: `card priority-${task.priority}${task.claim ? " claimed" : ""}`,
      draggable: "true",
      dataset: { id: task.id },
      ondragstart: (event) => {
        event.dataTransfer.setData("text/plain", task.id);
        event.dataTransfer.effectAllowed = "move";
        event.currentTarget.classList.add("dragging");
      },
      ondragend: (event) => event.currentTarget.classList.remove("dragging"),
    },
    h(
      "button",
      {
        type: "button",
        class: "task-open",
        "aria-describedby": "kanban-help",
        "aria-keyshortcuts": "Shift+ArrowLeft Shift+ArrowRight",
        onclick: () => actions.open(task.id),
        // Shift + arrows pick the column, Enter moves the card there (one change, however
        // many columns it crosses), Escape or leaving the card drops the choice.
        onkeydown: (event) => {
          if (event.shiftKey && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
            event.preventDefault();
            actions.step(task.id, event.key === "ArrowRight" ? 1 : -1);
          } else if (event.key === "Enter" && actions.commit(task.id)) {
            event.preventDefault(); // the move, not the click that opens the task
          } else if (event.key === "Escape") {
            actions.cancel(task.id);
          }
        },
        onblur: () => actions.cancel(task.id),
      },
      h("span", { class: "title" }, task.title),
    ),
    h(
      "div",
      { class: "card-meta" },
      h("span", { class: `priority p-${task.priority}` }, task.priority),
      labelChips(task.labels),
      waitingFor ? h("span", { class: "waiting" }, `waits for ${waitingFor}`) : null,
      claimChip(task, holder),
      actorChip(changedBy),
    ),
  );
}

export function noteItem(note) {
  return h(
    "li",
    { dataset: { noteId: String(note.id) } },
    h("time", { datetime: new Date(note.createdAt).toISOString(), title: new Date(note.createdAt).toLocaleString() }, clock(note.createdAt)),
    " ",
    h("span", { class: "note-text" }, note.message),
  );
}

// One session: its agent and status up front (needs_input draws the eye, with the
// question it waits on), the files it holds (filled by the app: they renew on every
// heartbeat, and the item is not rebuilt for that), its latest progress note, and when
// expanded its whole log (live), its status and its tasks.
export function sessionItem({ session, tasks, available, expanded, latest, selected, questions }, actions) {
  const attention = session.status === "needs_input";
  const [question] = questions;
  const asks = question
    ? h(
        "p",
        { class: "session-question" },
        h("span", { class: "asks" }, questions.length > 1 ? `asks (${questions.length}):` : "asks:"),
        " ",
        h("q", {}, plainText(question.text, 160)),
        " ",
        h("button", { type: "button", class: "link", "aria-label": `Answer ${session.name}’s question`, onclick: () => actions.answer(question.id) }, "Answer"),
      )
    : null;
  const body = expanded
    ? h(
        "div",
        { class: "session-body" },
        h(
          "label",
          { class: "session-status" },
          "Status ",
          h(
            "select",
            { "aria-label": `Status of ${session.name}`, onchange: (event) => actions.setStatus(session.id, event.target.value) },
            SESSION_STATUSES.map((value) => h("option", { value, selected: value === session.status }, SESSION_STATUS_LABEL[value] || value)),
          ),
        ),
        h("h4", { class: "subhead" }, "Progress"),
        // Filled by the app (renderNotes): notes are patched one by one as they come.
        h("ol", { class: "notes", "aria-label": `Progress notes of ${session.name}`, "aria-live": "polite" }),
        h("p", { class: "empty notes-state" }),
        h("h4", { class: "subhead" }, "Tasks"),
        tasks.length
          ? h(
              "ul",
              { class: "session-tasks" },
              tasks.map((task) =>
                h(
                  "li",
                  { dataset: { taskId: task.id } },
                  badge(task.status, TASK_STATUS_LABEL),
                  h("button", { type: "button", class: "link title", onclick: () => actions.openTask(task.id) }, task.title),
                  h(
                    "button",
                    { type: "button", class: "ghost icon", "aria-label": `Remove ${task.title} from session`, onclick: () => actions.removeTask(session.id, task.id) },
                    "×",
                  ),
                ),
              ),
            )
          : h("p", { class: "empty" }, "No tasks in this session."),
        available.length
          ? h(
              "form",
              {
                class: "inline-form add-task",
                onsubmit: (event) => {
                  event.preventDefault();
                  const select = event.target.elements.task;
                  if (select.value) actions.addTask(session.id, select.value);
                },
              },
              h("select", { name: "task", "aria-label": `Task to add to ${session.name}` }, available.map((t) => h("option", { value: t.id }, t.title))),
              h("button", { type: "submit" }, "Add task"),
            )
          : null,
      )
    : null;
  return h(
    "li",
    { class: `session${expanded ? " expanded" : ""}${attention ? " attention" : ""}${selected ? " selected" : ""}`, dataset: { id: session.id } },
    h(
      "div",
      { class: "session-head" },
      h(
        "button",
        { type: "button", class: "expand ghost", "aria-expanded": String(expanded), "aria-label": `Show ${session.name}`, onclick: () => actions.toggle(session.id) },
        expanded ? "▾" : "▸",
      ),
      h("span", { class: "name" }, session.name),
      session.agent ? h("span", { class: "agent" }, session.agent) : null,
      badge(session.status, SESSION_STATUS_LABEL),
      h("span", { class: "count" }, `${session.taskIds.length} task${session.taskIds.length === 1 ? "" : "s"}`),
      h(
        "button",
        { type: "button", class: "ghost danger close", "aria-label": `Close session ${session.name}`, onclick: () => actions.close(session.id) },
        "Close",
      ),
    ),
    asks,
    h("ul", { class: "session-files", "aria-label": `Files ${session.name} holds` }),
    latest && !expanded && !question ? h("p", { class: "latest-note", title: new Date(latest.createdAt).toLocaleString() }, latest.message) : null,
    body,
  );
}

// One line of a timeline (the activity feed, a task's history): who, what, when; the task
// or session it is about is a link (a real URL: it can be opened elsewhere or shared).
export function lineItem({ message, said }, { store, me, links }) {
  const session = said.who ? store.sessions.get(said.who) : null;
  const actor = message.actor ?? "";
  const whoText = session ? session.agent || session.name : actor === me ? "you" : actor || "someone";
  // Who did it: the agent's session (a link to it) when the event names one; else the actor.
  const who = said.bare ? null : session ? links.session(session.id, whoText) : whoText;
  const parts = said.parts.map((part) => {
    if (typeof part === "string") return part;
    if (part.note !== undefined) return h("q", { class: "note-text" }, part.note);
    if (part.path !== undefined) return h("code", { class: "pattern" }, part.path);
    if (part.task !== undefined) {
      const title = store.tasks.get(part.task)?.title;
      return title === undefined ? h("em", {}, "a task no longer here") : links.task(part.task, title);
    }
    const name = store.sessions.get(part.session)?.name;
    return name === undefined ? h("em", {}, "a closed session") : links.session(part.session, name);
  });
  const shownActor = actor && actor !== whoText && (session || said.bare);
  return h(
    "li",
    { class: `line tone-${said.tone ?? "plain"}`, dataset: { seq: String(message.seq), event: message.event } },
    // A note reads "codex: …": the colon belongs to the name (the line's gap follows it).
    who === null ? null : h("span", { class: "who" }, who, said.tone === "note" ? ":" : ""),
    who === null ? null : " ", // not laid out (a flex item of white space), but read and copied
    h("span", { class: "what" }, parts),
    h(
      "span",
      { class: "when" },
      shownActor ? h("span", { class: "actor", title: "Whose token made this change" }, actor === me ? "you" : actor) : null,
      h("time", { datetime: new Date(message.timestamp).toISOString(), title: new Date(message.timestamp).toLocaleString(), dataset: { ts: String(message.timestamp) } }, ago(message.timestamp)),
    ),
  );
}
