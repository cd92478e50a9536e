import { ADDRESSES } from "./vocabulary.js";

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

// Why a file reservation ended, as an activity line says it ("codex released src/** (claim ended)").
export const RESERVATION_END_LABEL = {
  released: "released",
  override: "released by a person",
  expired: "lease expired",
  claim_ended: "claim ended",
  session_ended: "session ended",
  session_deleted: "session closed",
  task_deleted: "task deleted",
};

// An address of a message in words: the people, everyone, every session of an agent, or
// a session as `sessionWords(id)` names it (a messages list and an activity line name
// sessions each their own way: a label, a link).
export function addressWords(address, sessionWords) {
  if (address === ADDRESSES.humans) return "humans";
  if (address === ADDRESSES.project) return "everyone";
  if (address.startsWith(ADDRESSES.agentPrefix)) return `every ${address.slice(ADDRESSES.agentPrefix.length)} session`;
  return sessionWords(address);
}

// Who a session is, as a question's asker: its agent, else its name ("An agent" when the
// page does not hold it).
export function agentName(session) {
  return session ? session.agent || session.name : "An agent";
}
