// A task's whole story, in the panel the URL's `task` opens: its text as safe Markdown,
// labels, where it sits (parent, sub-tasks, dependencies, dependents, all links), its
// claim and lease, the sessions it is in, and its history from the event log.
//
// The panel is patched by parts, each rebuilt only when what it shows changed, so a
// live event does not reset the person's scroll or focus.

import { TASK_STATUS_LABEL } from "./labels.js";
import { renderMarkdown } from "./markdown.js";
import { badge, clock, h, labelChips, lineItem, patchList } from "./views.js";

function part(container, key, signature, build) {
  let node = container.querySelector(`:scope > [data-part="${key}"]`);
  if (node && node.dataset.signature === signature) return;
  const built = build();
  built.dataset.part = key;
  built.dataset.signature = signature;
  if (node) node.replaceWith(built);
  else container.append(built);
}

function taskLinks(ids, store, links, empty) {
  const tasks = ids.map((id) => store.tasks.get(id)).filter(Boolean);
  if (tasks.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "ul",
    { class: "related" },
    tasks.map((task) => h("li", {}, badge(task.status, TASK_STATUS_LABEL), " ", links.task(task.id, task.title))),
  );
}

function untilText(expiresAt) {
  const minutes = Math.round((expiresAt - Date.now()) / 60000);
  const left = minutes <= 0 ? "ending now" : minutes < 60 ? `${minutes} min left` : `${Math.round(minutes / 60)} h left`;
  return `until ${clock(expiresAt)} (${left})`;
}

// Fill the panel's `.story` for `task` (held whole: the app fetched any text an event left out).
export function renderStory(story, { task, store, history, me, links, changedBy }) {
  const related = (ids) => ids.map((id) => `${id}@${store.tasks.get(id)?.version ?? "-"}`).join(",");
  const children = [...store.tasks.values()].filter((t) => t.parentId === task.id).map((t) => t.id);
  const dependents = [...store.tasks.values()].filter((t) => t.dependsOn.includes(task.id)).map((t) => t.id);

  // The lease's "N min left" moves on with the minute.
  const minute = Math.floor(Date.now() / 60000);
  part(story, "facts", `${task.version}:${changedBy}:${task.claim?.sessionId}:${store.sessions.get(task.claim?.sessionId)?.name}:${minute}`, () => {
    const holder = task.claim ? store.sessions.get(task.claim.sessionId) : null;
    return h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"),
      h("dd", {}, badge(task.status, TASK_STATUS_LABEL), " ", h("span", { class: `priority p-${task.priority}` }, `${task.priority} priority`)),
      h("dt", {}, "Claim"),
      h(
        "dd",
        { class: "claim-fact" },
        task.claim
          ? [holder ? links.session(holder.id, holder.name) : task.claim.sessionId, ` holds it ${untilText(task.claim.expiresAt)}`]
          : "Not claimed",
      ),
      h("dt", {}, "Labels"),
      h("dd", {}, labelChips(task.labels) ?? "None"),
      h("dt", {}, "Changed"),
      h("dd", {}, `${new Date(task.updatedAt).toLocaleString()} · version ${task.version}`, changedBy ? ` · by ${changedBy}` : ""),
      h("dt", {}, "Id"),
      h("dd", {}, h("code", {}, task.id)),
    );
  });

  // The text is parsed again only when it changed (not on every new version: a lease
  // renewed must not re-render a 200 KB prompt nor drop the person's selection in it).
  const shown = story.querySelector(':scope > [data-part="text"]');
  if (!shown || shown._task !== task.id || shown._description !== task.description || shown._prompt !== task.prompt) {
    const text = h(
      "div",
      { class: "text", dataset: { part: "text" } },
      h("h3", {}, "Description"),
      task.description ? h("div", { class: "markdown" }, renderMarkdown(task.description)) : h("p", { class: "empty" }, "No description."),
      h("h3", {}, "Prompt"),
      task.prompt ? h("div", { class: "markdown" }, renderMarkdown(task.prompt)) : h("p", { class: "empty" }, "No prompt."),
    );
    Object.assign(text, { _task: task.id, _description: task.description, _prompt: task.prompt });
    if (shown) shown.replaceWith(text);
    else story.querySelector(':scope > [data-part="facts"]').after(text);
  }

  const sessionIds = task.sessionIds ?? [];
  const sessionsSignature = sessionIds.map((id) => `${id}@${store.sessions.get(id)?.version}`).join(",");
  const parent = task.parentId ? [task.parentId] : [];
  part(
    story,
    "relations",
    `${related(parent)}|${related(children)}|${related(task.dependsOn)}|${related(dependents)}|${sessionsSignature}`,
    () =>
      h(
        "div",
        { class: "relations" },
        parent.length ? [h("h3", {}, "Part of"), taskLinks(parent, store, links, "")] : null,
        children.length ? [h("h3", {}, "Sub-tasks"), taskLinks(children, store, links, "")] : null,
        h("h3", {}, "Depends on"),
        taskLinks(task.dependsOn, store, links, "Nothing: it can start any time."),
        h("h3", {}, "Needed by"),
        taskLinks(dependents, store, links, "No task waits for this one."),
        h("h3", {}, "Sessions"),
        sessionIds.length
          ? h(
              "ul",
              { class: "related" },
              sessionIds.map((id) => store.sessions.get(id)).filter(Boolean).map((s) => h("li", {}, links.session(s.id, s.name), s.agent ? ` · ${s.agent}` : "")),
            )
          : h("p", { class: "empty" }, "In no session."),
      ),
  );

  part(story, "history-head", "1", () => h("h3", { id: "history-title" }, "History"));
  let list = story.querySelector(":scope > ol.history");
  if (!list) {
    list = h("ol", { class: "history timeline", "aria-labelledby": "history-title" });
    story.append(list);
  }
  patchList(
    list,
    history.entries().map((entry) => ({
      key: String(entry.message.seq),
      signature: lineSignature(entry, store),
      entry,
    })),
    ({ entry }) => lineItem(entry, { store, me, links }),
  );
  let more = story.querySelector(":scope > .more");
  if (!more) {
    more = h("p", { class: "more" });
    story.append(more);
  }
  more.replaceChildren(
    history.loading
      ? "Loading…"
      : history.next !== null
        ? h("button", { type: "button", class: "ghost", dataset: { action: "older-history" } }, "Show older")
        : history.loaded
          ? h("span", { class: "empty" }, "That is the whole history the server keeps.")
          : "",
  );
}

// What a line shows beyond its event: the names it links (they change as tasks are renamed).
export function lineSignature({ message, said }, store) {
  const names = said.parts
    .map((part) => (part.task ? store.tasks.get(part.task)?.title : part.session ? store.sessions.get(part.session)?.name : ""))
    .join("|");
  const who = said.who ? store.sessions.get(said.who)?.agent ?? store.sessions.get(said.who)?.name : "";
  return `${names}|${who}`;
}
