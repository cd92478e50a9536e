// The REST API: JSON in and out, the seq of every answer, errors in the server's one shape.

import { BEARER_SCHEME, BOARD_CLIENT, HEADERS, TRUE } from "./vocabulary.js";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "error";
    this.details = error.details;
  }
}

// A server with a token (its own --token, or named ones) wants one on every request. The board asks its user for it
// once; it is kept for this tab (sessionStorage) or, if asked, for this browser.
const TOKEN_KEY = "maestro.token";

export const auth = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || "";
  },
  remember(token, everywhere) {
    if (everywhere) {
      localStorage.setItem(TOKEN_KEY, token);
      sessionStorage.removeItem(TOKEN_KEY);
    } else {
      sessionStorage.setItem(TOKEN_KEY, token); // this tab only; another tab's stays
    }
  },
  forget(token) {
    // Only the token that was refused: the one another tab remembered may be good.
    for (const storage of [sessionStorage, localStorage]) {
      if (storage.getItem(TOKEN_KEY) === token) storage.removeItem(TOKEN_KEY);
    }
  },
  onUnauthorized: (error, token) => {},
};

export async function request(method, path, { body, ifMatch, idempotent, override } = {}) {
  // The board names itself: its changes read "<token name>/board" (GET /api/me's actor).
  const headers = { Accept: "application/json", [HEADERS.client]: BOARD_CLIENT };
  const token = auth.token;
  if (token) headers[HEADERS.authorization] = `${BEARER_SCHEME} ${token}`;
  if (override) headers[HEADERS.override] = TRUE;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // The version as the server's ETag: quoted, as HTTP writes entity tags (protocol.etag).
  if (ifMatch !== undefined) headers[HEADERS.ifMatch] = `"${ifMatch}"`;
  if (idempotent) headers[HEADERS.idempotencyKey] = crypto.randomUUID();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) auth.onUnauthorized(error, token);
    throw error;
  }
  const seq = Number(response.headers.get(HEADERS.seq));
  return { data, seq: Number.isFinite(seq) ? seq : null };
}

// A query string of the parameters that have a value.
function query(params) {
  const defined = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return defined.length ? `?${new URLSearchParams(defined)}` : "";
}

export const api = {
  me: () => request("GET", "/api/me"),
  projects: () => request("GET", "/api/projects"),
  tasks: (projectId) => request("GET", `/api/tasks?projectId=${encodeURIComponent(projectId)}`),
  task: (id) => request("GET", `/api/tasks/${encodeURIComponent(id)}`),
  sessions: (projectId) =>
    request("GET", `/api/sessions?projectId=${encodeURIComponent(projectId)}`),
  createProject: (body) => request("POST", "/api/projects", { body, idempotent: true }),
  createTask: (body) => request("POST", "/api/tasks", { body, idempotent: true }),
  updateTask: (id, body, version, override = false) =>
    request("PATCH", `/api/tasks/${id}`, { body, ifMatch: version, override }),
  deleteTask: (id, version) => request("DELETE", `/api/tasks/${id}`, { ifMatch: version }),
  createSession: (body) => request("POST", "/api/sessions", { body, idempotent: true }),
  updateSession: (id, body, version) =>
    request("PATCH", `/api/sessions/${id}`, { body, ifMatch: version }),
  deleteSession: (id, version) => request("DELETE", `/api/sessions/${id}`, { ifMatch: version }),
  addTask: (sessionId, taskId) =>
    request("POST", `/api/sessions/${sessionId}/tasks/${taskId}`, { idempotent: true }),
  latestNotes: (projectId) => request("GET", `/api/projects/${encodeURIComponent(projectId)}/notes/latest`),
  notes: (sessionId, limit) => request("GET", `/api/sessions/${encodeURIComponent(sessionId)}/notes${query({ limit })}`),
  // Timelines: { events (newest first), next (the `before` of the next older page) }.
  activity: (projectId, { sessionId, agent, before, limit }) =>
    request("GET", `/api/projects/${encodeURIComponent(projectId)}/activity${query({ sessionId, agent, before, limit })}`),
  history: (taskId, { before, limit }) =>
    request("GET", `/api/tasks/${encodeURIComponent(taskId)}/history${query({ before, limit })}`),
  removeTask: (sessionId, taskId) =>
    request("DELETE", `/api/sessions/${sessionId}/tasks/${taskId}`),
  // Coordination beyond tasks: questions for the people, messages, file reservations.
  questions: (projectId, status, limit) => request("GET", `/api/questions${query({ projectId, status, limit })}`),
  answer: (id, answer) => request("POST", `/api/questions/${encodeURIComponent(id)}/answer`, { body: { answer }, idempotent: true }),
  // Oldest first; `newest`: the newest `limit` of them (still oldest first).
  messages: (filter) => request("GET", `/api/messages${query(filter)}`),
  sendMessage: (body) => request("POST", "/api/messages", { body, idempotent: true }),
  // Read (and with `ack`, acknowledged) by `recipient`.
  markRead: (recipient, messageIds, { ack = false } = {}) => request("POST", "/api/messages/read", { body: { recipient, messageIds, ack } }),
  reservations: (projectId) => request("GET", `/api/reservations${query({ projectId })}`),
  releaseReservation: (id) => request("DELETE", `/api/reservations/${encodeURIComponent(id)}`),
};
