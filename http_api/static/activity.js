// The activity feed: what happened, newest first, in words a person reads at a glance.
//
// Lines come from two sources that overlap: pages of the project's log read over REST
// (GET /api/projects/{id}/activity, newest first, each page consistent with the seq in
// its X-Maestro-Seq), and the live feed. Both are the same envelopes; a line is keyed by
// its seq, so one that arrives both ways is shown once, and the page fetched after the
// feed resumed leaves no gap between them.
//
// Some events only echo another one of the same change (a claim also updates the task
// and touches its session): those say nothing a person needs and are left out (`quiet`).
// Events from before `changed` existed (docs/protocol.md) read as a plain "updated".

import { addressWords, RESERVATION_END_LABEL, SESSION_STATUS_LABEL, TASK_STATUS_LABEL } from "./labels.js";
import { plainText } from "./markdown.js";
import { CHANGED, HISTORY_LIMITS } from "./vocabulary.js";

// The most lines kept in memory as live ones arrive: older ones are a "Show older" away
// (what the person pages back to stays, however many: they asked for it).
export const ACTIVITY_KEPT = 300;
// A page of the log, as the server sizes it by default.
export const ACTIVITY_PAGE = HISTORY_LIMITS.default;

// Fields whose change alone is bookkeeping, not news.
const BOOKKEEPING = new Set(["lastActivityAt", "sessionIds", "sessionCount", "startedAt", "completedAt", "endedAt", "taskIds"]);

const task = (id) => ({ task: id });
const session = (id) => ({ session: id });
const quote = (text) => ({ note: text });
const path = (pattern) => ({ path: pattern });
// How much of a message or a question a line quotes.
const QUOTED = 80;

function changedOf(message) {
  const changed = message[CHANGED];
  return Array.isArray(changed) ? changed : null;
}

// The words of one event: { parts: [text | {task} | {session} | {note} | {path}], who, bare, tone }
// or null when the event is an echo of another one. `who` is the session an agent acted
// through, when the event names one (else the line names the actor: whose token did it);
// `bare`: the sentence has its subject already.
export function describe(message) {
  const { event, data } = message;
  const changed = changedOf(message);
  switch (event) {
    case "task:created":
      return { parts: ["created ", task(data.id)] };
    case "task:deleted":
      return { parts: ["deleted ", task(data.id)], tone: "danger" };
    case "task:updated": {
      if (changed === null) return { parts: ["updated ", task(data.id)] };
      // A claim taken or renewed has its own event (task:claimed), and its status follows
      // from it: this update only echoes it. A claim that ended says why in task:released;
      // what else this update changed (a person's override moved it to done) is news.
      if (changed.includes("claim") && data.claim) return null;
      const news = changed.filter((field) => field !== "claim" && !BOOKKEEPING.has(field));
      if (news.length === 0) return null;
      // A claimed task's change is its holder's doing as far as the page can tell (the
      // server files it under the holder's session too).
      const who = data.claim?.sessionId;
      if (news.includes("status")) {
        const rest = news.filter((field) => field !== "status");
        return {
          parts: ["moved ", task(data.id), ` to ${TASK_STATUS_LABEL[data.status] ?? data.status}`, rest.length ? ` (and changed ${words(rest)})` : ""],
          who,
          tone: data.status,
        };
      }
      if (news.length === 1 && news[0] === "title") return { parts: ["renamed ", task(data.id)], who };
      if (news.length === 1 && news[0] === "priority") return { parts: ["set ", task(data.id), ` to ${data.priority} priority`], who };
      return { parts: [`changed ${words(news)} of `, task(data.id)], who };
    }
    case "task:claimed":
      return { parts: ["claimed ", task(data.taskId)], who: data.sessionId, tone: "in_progress" };
    case "task:released": {
      const how = {
        released: "released ",
        expired: "lost the claim (lease expired) on ",
        override: "was overridden on ",
        completed: "finished ",
        cancelled: "dropped ",
        pending: "put back ",
        session_ended: "let go of ",
        session_deleted: "let go of ",
      }[data.reason] ?? "released ";
      return { parts: [how, task(data.taskId)], who: data.sessionId };
    }
    case "session:created":
      return { parts: ["started session ", session(data.id)], who: data.id };
    case "session:deleted":
      return { parts: ["closed session ", session(data.id)], tone: "danger" };
    case "session:updated": {
      if (changed === null) return { parts: ["updated session ", session(data.id)] };
      const news = changed.filter((field) => !BOOKKEEPING.has(field));
      if (news.length === 0) return null;
      if (news.includes("status")) {
        // The session is the subject: no one else to name (the actor still shows).
        if (data.status === "needs_input") return { parts: [session(data.id), " needs input"], bare: true, tone: "needs_input" };
        return { parts: [session(data.id), ` is ${SESSION_STATUS_LABEL[data.status] ?? data.status}`], bare: true, tone: data.status };
      }
      return { parts: [`changed ${words(news)} of session `, session(data.id)], who: data.id };
    }
    case "session:task_added":
      return { parts: ["added ", task(data.taskId), " to ", session(data.sessionId)], who: data.sessionId };
    case "session:task_removed":
      return { parts: ["took ", task(data.taskId), " off ", session(data.sessionId)], who: data.sessionId };
    case "session:note_added":
      return { parts: [{ note: data.note?.message ?? "" }], who: data.sessionId, tone: "note" };
    case "message:sent":
      // "codex → humans: “API changed”": a thread's subject, or the words of a reply (which
      // has its thread's subject) or of a message without one.
      return {
        parts: ["→ ", ...addressed(data.to), ": ", quote(data.replyTo || !data.subject ? plainText(data.body, QUOTED) : data.subject)],
        who: data.fromSessionId ?? undefined,
        tone: "message",
      };
    case "question:asked":
      return { parts: ["asked: ", quote(plainText(data.text, QUOTED))], who: data.sessionId, tone: "needs_input" };
    case "question:answered":
      // A person's answer is theirs (the actor); a deadline's, the question's own doing.
      if (data.defaulted) {
        return { parts: ["no one answered ", session(data.sessionId), " in time: its default ", quote(data.answer), " applies"], bare: true };
      }
      return { parts: ["answered ", quote(data.answer), " to ", session(data.sessionId)] };
    case "reservation:created":
      return { parts: ["reserved ", path(data.pattern), data.exclusive ? " (exclusive)" : " (shared)", ...forTask(data.taskId)], who: data.sessionId };
    case "reservation:renewed":
      // A heartbeat moved the leases of a session's reservations on: bookkeeping.
      return null;
    case "reservation:updated": {
      // The same reservation asked again only moves its lease: an echo. A change of mode
      // or task is news. (A heartbeat's renewals come as reservation:renewed.)
      if (changed === null || changed.includes("exclusive")) {
        return { parts: ["reserved ", path(data.pattern), data.exclusive ? " (exclusive)" : " (shared)", ...forTask(data.taskId)], who: data.sessionId };
      }
      if (changed.includes("taskId")) return { parts: ["reserved ", path(data.pattern), ...forTask(data.taskId)], who: data.sessionId };
      return null;
    }
    case "reservation:released": {
      if (data.reason === "override") return { parts: ["released ", path(data.pattern), ", held by ", session(data.sessionId)], tone: "danger" };
      const why = data.reason === "released" ? "" : ` (${RESERVATION_END_LABEL[data.reason] ?? data.reason})`;
      return { parts: ["released ", path(data.pattern), why], who: data.sessionId };
    }
    case "project:created":
      return { parts: ["created this project"] };
    case "project:updated":
      return { parts: [changed ? `changed the project's ${words(changed.filter((f) => !BOOKKEEPING.has(f)))}` : "updated the project"] };
    default:
      return null; // token events and anything newer than this board: not a project's story
  }
}

// A message's addresses as a line says them: sessions by name (links), the rest in words.
function addressed(to) {
  const parts = [];
  for (const address of to ?? []) {
    if (parts.length) parts.push(", ");
    parts.push(addressWords(address, session));
  }
  return parts;
}

function forTask(taskId) {
  return taskId ? [" for ", task(taskId)] : [];
}

function words(fields) {
  const names = { dependsOn: "dependencies", parentId: "parent", workingDir: "working directory" };
  const said = fields.map((field) => names[field] ?? field.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`));
  return said.length <= 1 ? said.join("") : `${said.slice(0, -1).join(", ")} and ${said.at(-1)}`;
}

// Which project an event belongs to, as far as this page can tell (the envelope carries
// no project; the data of most events does, the others name a task or session we hold).
export function projectOf(message, store) {
  const data = message.data || {};
  if (data.projectId) return data.projectId;
  if (message.event.startsWith("project:")) return data.id;
  return store.tasks.get(data.taskId)?.projectId ?? store.sessions.get(data.sessionId)?.projectId ?? null;
}

// Whether a line belongs under the filter { session, agent } (the server's rule for a
// page: the events about that session, or about any session of that agent).
export function matches(message, filter, store) {
  if (!filter.session && !filter.agent) return true;
  const data = message.data || {};
  // The server's rule (core/events.py subjects): a session's own events, those naming it,
  // the updates of a task it holds, and the messages it sent.
  const about = message.event.startsWith("session:")
    ? data.sessionId ?? data.id
    : message.event === "task:updated"
      ? data.claim?.sessionId
      : message.event === "message:sent"
        ? data.fromSessionId
        : data.sessionId;
  if (!about) return false;
  if (filter.session) return about === filter.session;
  return store.sessions.get(about)?.agent === filter.agent;
}

// A window of the newest lines of one story, by seq: a project's activity (under a filter)
// or one task's history. `belongs(message)` says whether a live event is part of it.
export class Timeline {
  constructor() {
    this.reset("", () => false);
  }

  reset(key, belongs) {
    this.key = key; // what this timeline is of (a project and filter, a task)
    this.belongs = belongs;
    this.lines = new Map(); // seq -> envelope
    this.next = null; // the `before` of the next older page; null: none (or not loaded)
    this.loaded = false;
    this.loading = false;
    this.cap = ACTIVITY_KEPT; // grows with every older page the person asks for
    this.generation = (this.generation ?? 0) + 1; // a page from an older reset is dropped
  }

  // A page from the server; returns how many lines of it are shown (echoes are not), or
  // -1 when the page belongs to an older reset.
  addPage(page, generation) {
    if (generation !== this.generation) return -1;
    let shown = 0;
    for (const message of page.events) {
      if (!this.lines.has(message.seq) && describe(message) !== null) shown++;
      this.lines.set(message.seq, message);
    }
    this.next = page.next;
    this.loaded = true;
    this.cap = Math.max(this.cap, this.lines.size);
    return shown;
  }

  addLive(message) {
    if (!this.belongs(message) || describe(message) === null) return false;
    this.lines.set(message.seq, message);
    this.trim();
    return true;
  }

  // Live lines push the oldest out past the cap; they can be paged in again.
  trim() {
    if (this.lines.size <= this.cap) return;
    const seqs = [...this.lines.keys()].sort((a, b) => b - a);
    for (const seq of seqs.slice(this.cap)) this.lines.delete(seq);
    this.next = seqs[this.cap - 1];
  }

  // Newest first, echoes left out.
  entries() {
    return [...this.lines.values()]
      .sort((a, b) => b.seq - a.seq)
      .map((message) => ({ message, said: describe(message) }))
      .filter((entry) => entry.said !== null);
  }
}

// Whether an event is part of a task's story (the server's rule for its history).
export function aboutTask(message, taskId) {
  const data = message.data || {};
  return message.event.startsWith("task:") ? (data.id ?? data.taskId) === taskId : data.taskId === taskId;
}

export function ago(timestamp, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - timestamp) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return new Date(timestamp).toLocaleDateString();
}
