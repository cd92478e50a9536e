// Views derived from the store. Lists are patched by key: an item whose content did not
// change keeps its DOM node, so focus, an open <select> and scroll survive live updates.

import { SESSION_STATUSES, TREE_INDENT_LEVELS } from "./vocabulary.js";

// How the board words each status. Which statuses exist comes from the server
// (vocabulary.js); tests/http_api/test_vocabulary.py checks every one has a label here.
export const TASK_STATUS_LABEL = {
  pending: "pending",
  in_progress: "running",
  in_review: "review",
  blocked: "blocked",
  completed: "done",
  cancelled: "cancelled",
};

export const SESSION_STATUS_LABEL = {
  idle: "idle",
  working: "working",
  needs_input: "needs input",
  completed: "completed",
  failed: "failed",
  stopped: "stopped",
};

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

// An option per value, worded as the value itself: "in_progress" reads "in progress".
export function options(select, values, selected) {
  select.replaceChildren(...values.map((value) => h("option", { value, selected: value === selected }, value.replaceAll("_", " "))));
}

export function badge(status, labels) {
  return h("span", { class: `badge status-${status}` }, labels[status] || status);
}

// Replace `container`'s children with `items`, reusing nodes whose signature is unchanged.
export function patchList(container, items, render) {
  const existing = new Map();
  for (const node of container.children) existing.set(node.dataset.key, node);
  const wanted = items.map((item) => {
    const old = existing.get(item.key);
    if (old && old.dataset.signature === item.signature) return old;
    const node = render(item);
    node.dataset.key = item.key;
    node.dataset.signature = item.signature;
    if (old) old.replaceWith(node);
    return node;
  });
  wanted.forEach((node, index) => {
    if (container.children[index] !== node) container.insertBefore(node, container.children[index] || null);
  });
  while (container.children.length > wanted.length) container.lastElementChild.remove();
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

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function taskItem({ task, depth, holder, waitingFor, changedBy }, onOpen) {
  return h(
    "li",
    { class: `task priority-${task.priority}`, styleVars: { "--depth": Math.min(depth, TREE_INDENT_LEVELS) }, dataset: { id: task.id } },
    h(
      "button",
      { type: "button", class: "task-open", "aria-label": `Edit task ${task.title}`, onclick: () => onOpen(task.id) },
      depth > TREE_INDENT_LEVELS ? h("span", { class: "level", title: `Sub-task ${depth} levels down` }, `↳${depth}`) : null,
      badge(task.status, TASK_STATUS_LABEL),
      h("span", { class: "title" }, task.title),
      waitingFor ? h("span", { class: "waiting", title: "Dependencies not completed yet" }, `waits for ${waitingFor}`) : null,
      task.claim
        ? h("span", { class: "claim", title: `Claimed by ${holder} until ${clock(task.claim.expiresAt)}` }, `⚑ ${holder} · until ${clock(task.claim.expiresAt)}`)
        : null,
      h("span", { class: `priority p-${task.priority}` }, task.priority),
      task.sessionCount ? h("span", { class: "session-badge", title: `${task.sessionCount} sessions` }, `[${task.sessionCount}x]`) : null,
      changedBy ? h("span", { class: "actor", title: `Last changed by ${changedBy}` }, changedBy) : null,
    ),
  );
}

export function sessionItem({ session, tasks, available, expanded }, actions) {
  const body = h(
    "div",
    { class: "session-body", hidden: !expanded },
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
    h(
      "ul",
      { class: "session-tasks" },
      tasks.map((task) =>
        h(
          "li",
          { dataset: { taskId: task.id } },
          badge(task.status, TASK_STATUS_LABEL),
          h("span", { class: "title" }, task.title),
          h(
            "button",
            { type: "button", class: "ghost icon", "aria-label": `Remove ${task.title} from session`, onclick: () => actions.removeTask(session.id, task.id) },
            "×",
          ),
        ),
      ),
    ),
    tasks.length ? null : h("p", { class: "empty" }, "No tasks in this session."),
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
  );
  return h(
    "li",
    { class: `session${expanded ? " expanded" : ""}`, dataset: { id: session.id } },
    h(
      "div",
      { class: "session-head" },
      h(
        "button",
        { type: "button", class: "expand ghost", "aria-expanded": String(expanded), "aria-label": `Show tasks of ${session.name}`, onclick: () => actions.toggle(session.id) },
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
    body,
  );
}
