// One client-side store keyed by id. Every view is derived from it, so one event updates
// the task list, the session panel and an open task at once.
//
// Snapshots and events may arrive in any order (a snapshot is taken at some seq while
// events stream in): an entity is only replaced by a newer version, and a deletion
// leaves a tombstone so a late snapshot cannot bring the entity back.
//
// A task:updated may leave out text it did not change (its `omitted` list): the copy held
// keeps it (mergedData). A task whose text this tab never had stays marked `omitted`
// until it is fetched whole: `onIncomplete` asks for that.
//
// What agents and people coordinate with beyond tasks follows the same rule, each by
// what it carries: a question by its version (like a task); a file reservation, which
// has none, by the seq of the event or snapshot its copy came from (a release leaves a
// tombstone); a message is written once, and only its recipients' read state changes,
// forward only (read, then acknowledged): copies are merged, whatever their order.
//
// A heartbeat renews a session's reservations in one event (reservation:renewed: each
// id and its new expiry). A renewal or a message:read may come before the copy it
// changes (the listing is still on its way): it is kept aside (`LATE_KEPT` of them, by
// id) and applied when the copy comes, so an older listing does not undo it.

import { ADDRESSES, OMITTED } from "./vocabulary.js";

// The same rule as the server's (maestro_mcp/core/events.py merged_data): fields the
// event omitted come from the copy held; those the copy lacks too stay listed.
export function mergedData(held, data) {
  const omitted = data[OMITTED];
  if (!omitted || omitted.length === 0) return data;
  const entity = { ...data };
  delete entity[OMITTED];
  const missing = [];
  for (const name of omitted) {
    if (held && name in held) entity[name] = held[name];
    else missing.push(name);
  }
  if (missing.length > 0) entity[OMITTED] = missing;
  return entity;
}

// The most notes kept of one open session: a log written all day stays bounded here.
export const NOTES_KEPT = 500;
// The most renewals and read states kept aside for copies not held yet (see above).
export const LATE_KEPT = 1000;

// A Map that forgets its oldest entries past `size`.
function keepAside(map, key, value, size = LATE_KEPT) {
  map.delete(key);
  map.set(key, value);
  if (map.size > size) map.delete(map.keys().next().value);
}

export class Store {
  constructor() {
    this.onIncomplete = (kind, id) => {}; // an entity lacks fields only a fetch can give
    this.projects = new Map();
    this.tasks = new Map();
    this.sessions = new Map();
    this.tombstones = new Map(); // id -> seq of its deletion
    this.changedBy = new Map(); // id -> who made its last change seen live (the event's actor)
    // Progress notes: a session's whole log once it is opened (fetched, then live), and the
    // newest note seen of every session (from the activity pages and the feed).
    this.notes = new Map(); // session id -> notes, oldest first (only sessions opened)
    this.latestNote = new Map(); // session id -> its newest note seen
    this.questions = new Map(); // id -> question (the open ones, and those closed since)
    this.reservations = new Map(); // id -> a live file reservation
    this.reservationSeq = new Map(); // id -> the seq its copy held is from
    this.messages = new Map(); // id -> message (those loaded, and those sent since)
    this.lateRenewals = new Map(); // reservation id -> { expiresAt, seq }: for a copy not held yet
    this.lateReads = new Map(); // message id -> [recipient states]: for a copy not held yet
    // Move on when their collection changes: what is derived from one alone is kept
    // while tasks change 200 times a second.
    this.revisions = { questions: 0, reservations: 0, messages: 0 };
    this.onApplied = (message) => false; // after each live event; true: the page must render
    this.projectId = null;
    this.seq = 0; // the last event applied (or the snapshot's seq): where the feed resumes
    this.listeners = new Set();
    this.scheduled = false;
    this.revision = 0; // moves on every change of the entities: derived lists are kept until it does
    this.derived = new Map(); // name -> { revision, value }
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    this.revision++;
    // Many events in one frame render once.
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const listener of this.listeners) listener(this);
    });
  }

  collection(kind) {
    return { project: this.projects, task: this.tasks, session: this.sessions, question: this.questions }[kind];
  }

  put(kind, entity, seq) {
    if (kind !== "project" && entity.projectId !== this.projectId) return;
    const gone = this.tombstones.get(entity.id);
    if (gone !== undefined && gone > seq) return;
    const map = this.collection(kind);
    const current = map.get(entity.id);
    // The same version again replaces a copy only to complete it (a task fetched whole).
    const completes = current && current[OMITTED] && !entity[OMITTED];
    if (current && (current.version > entity.version || (current.version === entity.version && !completes))) return;
    const merged = mergedData(current, entity);
    map.set(entity.id, merged);
    this.revision++;
    if (kind === "question") this.revisions.questions++;
    if (merged[OMITTED]) this.onIncomplete(kind, entity.id);
  }

  // A file reservation from an event or a snapshot taken at `seq`: kept unless the copy
  // held, or its release, is newer.
  putReservation(reservation, seq) {
    if (reservation.projectId !== this.projectId) return;
    const gone = this.tombstones.get(reservation.id);
    if (gone !== undefined && gone > seq) return;
    if ((this.reservationSeq.get(reservation.id) ?? -1) > seq) return;
    const renewed = this.lateRenewals.get(reservation.id);
    if (renewed && renewed.seq > seq) {
      // Renewed after this copy was read (the event came first): the renewal holds.
      reservation = { ...reservation, expiresAt: renewed.expiresAt };
      seq = renewed.seq;
    }
    this.lateRenewals.delete(reservation.id);
    this.reservations.set(reservation.id, reservation);
    this.reservationSeq.set(reservation.id, seq);
    this.revision++;
    this.revisions.reservations++;
  }

  // reservation:renewed: a heartbeat moved the leases of a session's reservations on.
  // Only the expiry changes: a copy held takes it, unless it is newer; one not held yet
  // gets it when it comes (a release meanwhile leaves a tombstone, which wins).
  renewReservations({ reservations = [] }, seq) {
    for (const { id, expiresAt } of reservations) {
      const held = this.reservations.get(id);
      if (!held) {
        const gone = this.tombstones.get(id);
        if (gone === undefined || gone < seq) keepAside(this.lateRenewals, id, { expiresAt, seq });
        continue;
      }
      if ((this.reservationSeq.get(id) ?? -1) > seq) continue;
      this.putReservation({ ...held, expiresAt }, seq);
    }
  }

  removeReservation(id, seq) {
    this.tombstones.set(id, seq);
    this.reservationSeq.delete(id);
    this.lateRenewals.delete(id);
    if (this.reservations.delete(id)) {
      this.revision++;
      this.revisions.reservations++;
    }
  }

  // A message (from message:sent, a listing, or the answer to a write): its recipients'
  // states merged with the copy held, each field kept once set.
  putMessage(message) {
    if (message.projectId !== this.projectId) return;
    const held = this.messages.get(message.id);
    const late = this.lateReads.get(message.id);
    if (late) {
      // Read (or acknowledged) before this page held the message: that still holds.
      this.lateReads.delete(message.id);
      const states = new Map(late.map((state) => [state.recipient, state]));
      message = { ...message, recipients: message.recipients.map((state) => mergedState(states.get(state.recipient), state)) };
    }
    let merged = message;
    if (held) {
      const states = new Map(held.recipients.map((state) => [state.recipient, state]));
      for (const state of message.recipients) states.set(state.recipient, mergedState(states.get(state.recipient), state));
      merged = { ...held, recipients: [...states.values()] };
      if (sameStates(held.recipients, merged.recipients)) return;
    }
    this.messages.set(message.id, merged);
    this.revision++;
    this.revisions.messages++;
  }

  // message:read: one recipient's new state. For a message not held yet (a listing read
  // before the reading may still be on its way) it is kept aside for when it comes.
  readMessage({ id, projectId, recipient, readAt, readBy, ackedAt, ackedBy }) {
    const state = { recipient, readAt, readBy, ackedAt, ackedBy };
    const held = this.messages.get(id);
    if (held) {
      this.putMessage({ ...held, recipients: [state] });
      return;
    }
    if (projectId !== this.projectId) return;
    const states = (this.lateReads.get(id) ?? []).filter((s) => s.recipient !== recipient);
    keepAside(this.lateReads, id, [...states, mergedState(this.lateReads.get(id)?.find((s) => s.recipient === recipient), state)]);
  }

  complete(kind, id) {
    // Whether the entity is held with every field (none left out by an event).
    const entity = this.collection(kind).get(id);
    return Boolean(entity) && !entity[OMITTED];
  }

  remove(kind, id, seq) {
    this.revision++;
    this.collection(kind).delete(id);
    this.tombstones.set(id, seq);
    if (kind === "session") {
      this.notes.delete(id);
      this.latestNote.delete(id);
    }
    if (kind === "project") {
      for (const map of [this.tasks, this.sessions, this.questions, this.reservations, this.messages]) {
        for (const [key, value] of map) if (value.projectId === id) map.delete(key);
      }
    }
  }

  loadProjects(projects, seq) {
    for (const project of projects) this.put("project", project, seq);
    this.changed();
  }

  loadProject(projectId, tasks, sessions, seq) {
    if (projectId !== this.projectId) return;
    for (const task of tasks) this.put("task", task, seq);
    for (const session of sessions) this.put("session", session, seq);
    this.changed();
  }

  // The project's questions, file reservations or messages, each list read at its `seq`:
  // joined with what the feed brought meanwhile by the rules above, in any order.
  loadCoordination(projectId, { questions = [], reservations = [], messages = [] }, seq) {
    if (projectId !== this.projectId) return;
    for (const question of questions) this.put("question", question, seq);
    for (const reservation of reservations) this.putReservation(reservation, seq);
    for (const message of messages) this.putMessage(message);
    this.changed();
  }

  switchProject(projectId) {
    this.revision++;
    this.projectId = projectId;
    this.tasks.clear();
    this.sessions.clear();
    this.notes.clear();
    this.latestNote.clear();
    this.questions.clear();
    this.reservations.clear();
    this.reservationSeq.clear();
    this.messages.clear();
    this.lateRenewals.clear();
    this.lateReads.clear();
    for (const name of Object.keys(this.revisions)) this.revisions[name]++;
    this.changed();
  }

  apply(message) {
    const { seq, event, data } = message;
    if (typeof seq !== "number" || seq <= this.seq) return false; // already applied
    this.seq = seq;
    const [kind, action] = event.split(":");
    // Only projects, and what belongs to the project shown, change what this page shows:
    // another project's events move the seq on and nothing else (no render).
    const mine =
      kind === "project" ||
      (data?.projectId !== undefined && data.projectId === this.projectId) ||
      this.tasks.has(data?.taskId) ||
      this.sessions.has(data?.sessionId);
    if (mine && ENTITIES.has(kind)) {
      // Who changed it: the entity's id, or the task a claim or release is about.
      const changed = data?.id ?? data?.taskId;
      if (message.actor && changed) this.changedBy.set(changed, message.actor);
      if (action === "created" || action === "updated") this.put(kind, data, seq);
      else if (action === "deleted") this.remove(kind, data.id, seq);
      else if (event === "session:note_added") this.addNotes(data.sessionId, [data.note]);
    } else if (mine) {
      if (kind === "question") this.put("question", data, seq); // asked, answered, cancelled
      else if (event === "reservation:released") this.removeReservation(data.id, seq);
      else if (event === "reservation:renewed") this.renewReservations(data, seq);
      else if (kind === "reservation") this.putReservation(data, seq); // created, updated
      else if (event === "message:sent") this.putMessage(data);
      else if (event === "message:read") this.readMessage(data);
    }
    if (this.onApplied(message) || mine) this.changed();
    return true;
  }

  // Notes from a fetch or the feed, in any order and any overlap: kept once each, by id.
  addNotes(sessionId, notes, { whole = false } = {}) {
    const held = this.notes.get(sessionId);
    if (held || whole) {
      const byId = new Map((held ?? []).map((note) => [note.id, note]));
      for (const note of notes) byId.set(note.id, note);
      this.notes.set(sessionId, [...byId.values()].sort((a, b) => a.id - b.id).slice(-NOTES_KEPT));
    }
    for (const note of notes) {
      const latest = this.latestNote.get(sessionId);
      if (!latest || note.id > latest.id) this.latestNote.set(sessionId, note);
    }
  }

  // Derived views, computed once per change however many parts of the page ask. Callers
  // must not change the arrays they get.
  memo(name, compute, revision = this.revision) {
    const held = this.derived.get(name);
    if (held && held.revision === revision) return held.value;
    const value = compute();
    this.derived.set(name, { revision, value });
    return value;
  }

  projectList() {
    return this.memo("projects", () => [...this.projects.values()].sort((a, b) => a.createdAt - b.createdAt));
  }

  taskList() {
    return this.memo("tasks", () => [...this.tasks.values()].sort((a, b) => a.createdAt - b.createdAt));
  }

  sessionList() {
    return this.memo("sessions", () => [...this.sessions.values()].sort((a, b) => b.lastActivityAt - a.lastActivityAt));
  }

  // The questions waiting for an answer, oldest first (the first asked is the first to answer).
  openQuestions() {
    return this.memo(
      "openQuestions",
      () => [...this.questions.values()].filter((q) => q.status === "open").sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)),
      this.revisions.questions,
    );
  }

  // Live file reservations by pattern (then holder), and by session.
  reservationList() {
    return this.memo(
      "reservations",
      () => [...this.reservations.values()].sort((a, b) => (a.pattern === b.pattern ? (a.sessionId < b.sessionId ? -1 : 1) : a.pattern < b.pattern ? -1 : 1)),
      this.revisions.reservations,
    );
  }

  reservationsBySession() {
    return this.memo(
      "reservationsBySession",
      () => {
        const bySession = new Map();
        for (const reservation of this.reservationList()) {
          if (!bySession.has(reservation.sessionId)) bySession.set(reservation.sessionId, []);
          bySession.get(reservation.sessionId).push(reservation);
        }
        return bySession;
      },
      this.revisions.reservations,
    );
  }

  // Messages addressed to the people that none of them has read yet.
  unreadForHumans() {
    return this.memo(
      "unreadForHumans",
      () => [...this.messages.values()].filter((message) => unreadBy(message, ADDRESSES.humans)),
      this.revisions.messages,
    );
  }
}

const ENTITIES = new Set(["project", "task", "session"]);

export function unreadBy(message, recipient) {
  return message.recipients.some((state) => state.recipient === recipient && !state.readAt);
}

// A recipient's state from two copies: what either says happened, happened.
function mergedState(held, state) {
  if (!held) return state;
  return {
    recipient: state.recipient,
    readAt: held.readAt ?? state.readAt ?? null,
    readBy: held.readBy ?? state.readBy ?? null,
    ackedAt: held.ackedAt ?? state.ackedAt ?? null,
    ackedBy: held.ackedBy ?? state.ackedBy ?? null,
  };
}

function sameStates(a, b) {
  return a.length === b.length && a.every((state, i) => state.readAt === b[i].readAt && state.ackedAt === b[i].ackedAt && state.readBy === b[i].readBy && state.ackedBy === b[i].ackedBy);
}
