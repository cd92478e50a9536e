// Messages between agents and people, as threads: a thread is the messages that share a
// `threadId` (the id of its first message; replies join it).
//
// The people are one recipient, `humans`: one shared inbox, read for all of them when one
// person opens the thread. A message's `to` is kept as it was written (`agent:codex`,
// `project`, a session id), and said in words here; its `recipients` are what the server
// expanded it to, each with its own read state.

import { ago } from "./activity.js";
import { addressWords } from "./labels.js";
import { renderMarkdown, plainText } from "./markdown.js";
import { unreadBy } from "./store.js";
import { clock, countText, h, patchList, setHidden, setText } from "./views.js";
import { ACTIVE_SESSION_STATUSES, ADDRESSES } from "./vocabulary.js";

const ACTIVE = new Set(ACTIVE_SESSION_STATUSES);
const DAY = new Intl.DateTimeFormat([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const FIRST_LINE = 120; // characters of a body a thread without a subject is listed by

function byTime(a, b) {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
}

// The project's threads, newest activity first.
export function threadsOf(messages) {
  const byThread = new Map();
  for (const message of messages) {
    if (!byThread.has(message.threadId)) byThread.set(message.threadId, []);
    byThread.get(message.threadId).push(message);
  }
  const threads = [];
  for (const [id, held] of byThread) {
    held.sort(byTime);
    const first = held[0];
    const last = held.at(-1);
    threads.push({
      id,
      messages: held,
      subject: held.find((m) => m.subject)?.subject || plainText(first.body, FIRST_LINE),
      last: last.createdAt,
      unread: held.filter((m) => unreadBy(m, ADDRESSES.humans)).length,
      // Whether its first message is here: a thread older than what was loaded may have more.
      whole: first.id === id,
    });
  }
  return threads.sort((a, b) => b.last - a.last || (a.id < b.id ? 1 : -1));
}

// A session as messages name it, sender or recipient: "codex · webhook triage".
export function sessionLabel(session) {
  return session.agent ? `${session.agent} · ${session.name}` : session.name;
}

// Who sent a message, in words: its session, else the person (its actor).
export function senderName(message, store, me) {
  const session = message.fromSessionId ? store.sessions.get(message.fromSessionId) : null;
  if (session) return sessionLabel(session);
  if (message.fromSessionId) return "a closed session";
  return message.sender === me ? "you" : message.sender;
}

// An address in words (a session by its label).
export function addressName(address, store) {
  return addressWords(address, (id) => {
    const session = store.sessions.get(id);
    return session ? sessionLabel(session) : "a closed session";
  });
}

// Everyone a thread has involved, in words, each once.
export function participants(thread, store, me) {
  const names = new Set();
  for (const message of thread.messages) {
    names.add(senderName(message, store, me));
    for (const address of message.to) names.add(addressName(address, store));
  }
  return [...names].join(", ");
}

// Whom a person's reply in a thread goes to: everyone the thread involved but the people
// themselves, as far as they can still be reached (an ended session, or an agent with no
// session left, is no address); the people if nobody else is left.
export function replyAddresses(thread, store) {
  const activeSessions = [...store.sessions.values()].filter((s) => ACTIVE.has(s.status));
  const reachable = (address) => {
    if (address === ADDRESSES.humans) return false;
    if (address === ADDRESSES.project) return true;
    if (address.startsWith(ADDRESSES.agentPrefix)) {
      const agent = address.slice(ADDRESSES.agentPrefix.length);
      return activeSessions.some((s) => s.agent === agent);
    }
    return ACTIVE.has(store.sessions.get(address)?.status);
  };
  const found = [];
  for (const message of thread.messages) {
    for (const address of [message.fromSessionId, ...message.to]) {
      if (address && !found.includes(address) && reachable(address)) found.push(address);
    }
  }
  return found.length ? found : [ADDRESSES.humans];
}

// What the new-message form offers: the people, the whole project, each agent's sessions,
// and each active session of the project.
export function recipientChoices(store) {
  const sessions = store.sessionList().filter((s) => ACTIVE.has(s.status));
  const agents = [...new Set(sessions.map((s) => s.agent).filter(Boolean))].sort();
  return [
    { value: ADDRESSES.humans, text: "humans" },
    { value: ADDRESSES.project, text: "everyone" },
    ...agents.map((agent) => ({ value: `${ADDRESSES.agentPrefix}${agent}`, text: `every ${agent} session` })),
    ...sessions.map((s) => ({ value: s.id, text: sessionLabel(s) })),
  ].map((choice) => ({ ...choice, key: choice.value, signature: choice.text }));
}

export function recipientChoice({ value, text }) {
  return h("label", { class: "check" }, h("input", { type: "checkbox", name: "to", value }), " ", text);
}

export function threadSignature(thread, store, me) {
  return `${thread.messages.length}|${thread.last}|${thread.unread}|${thread.subject}|${participants(thread, store, me)}`;
}

// One thread in the list: a link (the URL holds the open thread).
export function threadItem(thread, { store, me, href, open }) {
  const count = `${thread.messages.length}${thread.whole ? "" : "+"} message${thread.messages.length === 1 && thread.whole ? "" : "s"}`;
  return h(
    "li",
    { class: `thread-item${thread.unread ? " unread" : ""}`, dataset: { id: thread.id } },
    h(
      "a",
      { href, class: "thread-open", onclick: open },
      h("span", { class: "subject" }, thread.subject),
      h("span", { class: "participants" }, participants(thread, store, me)),
      h(
        "span",
        { class: "thread-meta" },
        thread.unread ? h("span", { class: "unread-badge" }, `${thread.unread} unread`) : null,
        h("span", { class: "count" }, count),
        h("time", { datetime: new Date(thread.last).toISOString(), title: new Date(thread.last).toLocaleString(), dataset: { ts: String(thread.last) } }, ago(thread.last)),
      ),
    ),
  );
}

export function messageSignature(message, store, readOnly) {
  const states = message.recipients.map((r) => `${r.recipient}:${r.readAt ?? ""}:${r.ackedAt ?? ""}:${r.ackedBy ?? ""}`).join(",");
  const from = store.sessions.get(message.fromSessionId);
  return `${states}|${from?.name}|${from?.agent}|${message.to.map((a) => addressName(a, store)).join(",")}|${readOnly}`;
}

// Whether the people may still acknowledge a message: it is addressed to them, and none
// of them has yet.
export function acknowledgeable(message) {
  return message.recipients.some((state) => state.recipient === ADDRESSES.humans && !state.ackedAt);
}

// Who has read a message (and acknowledged it), in words.
function receipts(message, store) {
  const name = (recipient) => addressName(recipient, store);
  const read = message.recipients.filter((r) => r.readAt && !r.ackedAt).map((r) => name(r.recipient));
  // The people share one inbox: say which of them acknowledged it.
  const acked = message.recipients
    .filter((r) => r.ackedAt)
    .map((r) => (r.recipient === ADDRESSES.humans && r.ackedBy ? r.ackedBy : name(r.recipient)));
  const parts = [];
  if (acked.length) parts.push(`acknowledged by ${acked.join(", ")}`);
  if (read.length) parts.push(`read by ${read.join(", ")}`);
  if (message.recipients.some((r) => r.recipient === ADDRESSES.humans && !r.readAt)) parts.push("unread by humans");
  return parts.join(" · ");
}

// When a message was sent: the time today, the day and time before.
function sentAt(ms) {
  return new Date(ms).toDateString() === new Date().toDateString() ? clock(ms) : DAY.format(ms);
}

// One message of an open thread; one addressed to the people has their "Acknowledge"
// (read, and done with: a second step the agents can see), but on a read-only board.
export function messageItem(message, { store, me, links, acknowledge, readOnly }) {
  const session = message.fromSessionId ? store.sessions.get(message.fromSessionId) : null;
  const from = session ? links.session(session.id, sessionLabel(session)) : senderName(message, store, me);
  const state = receipts(message, store);
  return h(
    "li",
    { class: `message${unreadBy(message, ADDRESSES.humans) ? " unread" : ""}`, dataset: { id: message.id } },
    h(
      "p",
      { class: "message-head" },
      h("span", { class: "from" }, from),
      " → ",
      h("span", { class: "to" }, message.to.map((address) => addressName(address, store)).join(", ")),
      h("time", { datetime: new Date(message.createdAt).toISOString(), title: new Date(message.createdAt).toLocaleString() }, sentAt(message.createdAt)),
    ),
    h("div", { class: "markdown message-body" }, renderMarkdown(message.body)),
    state ? h("p", { class: "receipts" }, state) : null,
    acknowledgeable(message) && !readOnly
      ? h("button", { type: "button", class: "ghost acknowledge", onclick: (event) => acknowledge(message.id, event.currentTarget) }, "Acknowledge")
      : null,
  );
}

// The project's threads, derived once per change of its messages.
export function threads(store) {
  return store.memo("threads", () => threadsOf(store.messages.values()), store.revisions.messages);
}

export function threadById(store, id) {
  return threads(store).find((thread) => thread.id === id) ?? null;
}

// The Messages view: the list of threads, or the one the URL opened, with its reply box.
// `capped`: the project's newest messages were as many as one listing returns, so older
// threads may not be listed ("+").
export function renderInbox(section, { store, me, links, threadId, loading, capped, hrefOf, open, acknowledge, readOnly }) {
  const all = threads(store);
  const thread = threadId ? all.find((t) => t.id === threadId) ?? null : null;
  setHidden(section.querySelector("#inbox"), Boolean(threadId));
  setHidden(section.querySelector("#thread"), !threadId);
  const counted = `${countText(all.length, capped)} thread${all.length === 1 && !capped ? "" : "s"}`;
  setText(section.querySelector("#message-count"), all.length ? counted : "");
  if (!threadId) {
    patchList(
      section.querySelector("#thread-list"),
      all.map((t) => ({ key: t.id, signature: threadSignature(t, store, me), thread: t })),
      ({ thread: t }) => threadItem(t, { store, me, href: hrefOf(t.id), open: (event) => open(event, t.id) }),
    );
    setHidden(section.querySelector("#thread-empty"), all.length > 0 || loading);
    return;
  }
  setText(section.querySelector("#thread-title"), thread ? thread.subject : loading ? "Loading…" : "Thread not found");
  setText(section.querySelector("#thread-participants"), thread ? participants(thread, store, me) : "");
  patchList(
    section.querySelector("#thread-messages"),
    (thread?.messages ?? []).map((message) => ({ key: message.id, signature: messageSignature(message, store, readOnly), message })),
    ({ message }) => messageItem(message, { store, me, links, acknowledge, readOnly }),
  );
  const state = section.querySelector("#thread-state");
  setText(state, thread && !thread.whole ? "Older messages of this thread are not shown." : !thread && !loading ? "No such thread in this project (deleted with its project, or a link from another server)." : "");
  setHidden(state, state.textContent === "");
  // A read-only board writes no reply (the board's note says why).
  const reply = section.querySelector("#reply");
  setHidden(reply, !thread || readOnly);
  if (thread) setText(reply.querySelector(".reply-to"), `To: ${replyAddresses(thread, store).map((address) => addressName(address, store)).join(", ")}`);
}
