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
