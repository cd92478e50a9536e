// The URL holds what the person is looking at: the project, the view, the filters, the
// open task and the open message thread. A link restores it; the back button walks
// through it.
//
//   /?project=ID&view=kanban&status=in_review&label=api&session=ID&agent=codex&q=login&task=ID
//   /?project=ID&view=messages&thread=ID
//
// Navigation (another project, view or task) pushes a history entry; refining a filter
// replaces the current one, so the back button does not replay every keystroke. The
// board of earlier versions put the project in the fragment (`/#ID`): still understood.

export const VIEWS = ["list", "kanban", "messages"];

const KEYS = ["project", "view", "status", "label", "session", "agent", "q", "task", "thread"];

export function emptyView() {
  return { project: null, view: "list", status: "all", label: "", session: "", agent: "", q: "", task: null, thread: null };
}

export function readUrl(url = location) {
  const query = new URLSearchParams(url.search);
  const state = emptyView();
  for (const key of KEYS) {
    const value = query.get(key);
    if (value !== null && value !== "") state[key] = value;
  }
  if (!VIEWS.includes(state.view)) state.view = "list";
  if (!state.project && url.hash.length > 1) state.project = decodeURIComponent(url.hash.slice(1));
  return state;
}

export function urlOf(state) {
  const query = new URLSearchParams();
  const defaults = emptyView();
  for (const key of KEYS) {
    const value = state[key];
    if (value !== null && value !== undefined && value !== "" && value !== defaults[key]) query.set(key, value);
  }
  const text = query.toString();
  return text ? `${location.pathname}?${text}` : location.pathname;
}

// Write the state into the address bar: a new entry, or in place of the current one.
export function writeUrl(state, { push = false } = {}) {
  const url = urlOf(state);
  if (url === `${location.pathname}${location.search}` && !location.hash) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}
