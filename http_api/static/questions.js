// Questions agents ask the people, at the top of the board until answered: who asks (the
// session, a link), about which task, the question (safe Markdown), its deadline and
// default, and the answers one can give: a button per choice, and a text field when the
// question takes any text.
//
// The first answer wins on the server: a question answered meanwhile elsewhere is
// refused with `already_answered`, and the page says by whom (app.js).

import { ago } from "./activity.js";
import { agentName } from "./labels.js";
import { renderMarkdown } from "./markdown.js";
import { countText, h, patchList, setHidden, setText } from "./views.js";
import { LIMITS } from "./vocabulary.js";

// "answers “no” in 4 min": when the deadline applies the default (the app keeps it current).
export function deadlineText(question, now = Date.now()) {
  if (question.default === null || question.default === undefined) return "";
  if (!question.deadlineAt) return `Default: “${question.default}”`;
  const seconds = Math.round((question.deadlineAt - now) / 1000);
  const when =
    seconds <= 0 ? "any moment now" : seconds < 60 ? `in ${seconds} s` : seconds < 3600 ? `in ${Math.round(seconds / 60)} min` : `in ${Math.round(seconds / 3600)} h`;
  return `Answers “${question.default}” ${when} unless someone answers first`;
}

export function questionSignature(question, store, readOnly) {
  const session = store.sessions.get(question.sessionId);
  return `${question.version}|${session?.name}|${session?.agent}|${store.tasks.get(question.taskId)?.title}|${readOnly}`;
}

// One open question, with its answer controls (none on a read-only board: a note says so).
export function questionItem(question, { store, links, answer, readOnly }) {
  const session = store.sessions.get(question.sessionId);
  const task = question.taskId ? store.tasks.get(question.taskId) : null;
  const textId = `question-text-${question.id}`;
  const who = agentName(session);
  const deadline = deadlineText(question);
  const choose = (value) => answer(question.id, value);
  return h(
    "li",
    { class: "question", dataset: { id: question.id } },
    h(
      "p",
      { class: "question-head" },
      h("span", { class: "who" }, who),
      session ? [" in ", links.session(session.id, session.name)] : null,
      " asks",
      task ? [" about ", links.task(task.id, task.title)] : null,
      " ",
      h("time", { datetime: new Date(question.createdAt).toISOString(), title: new Date(question.createdAt).toLocaleString(), dataset: { ts: String(question.createdAt) } }, ago(question.createdAt)),
    ),
    h("div", { class: "markdown question-text", id: textId }, renderMarkdown(question.text)),
    deadline ? h("p", { class: "deadline", dataset: { deadline: question.id } }, deadline) : null,
    readOnly ? h("p", { class: "read-only-note" }, "This board's token may only read: answer from a board or CLI whose token may write.") : h(
      "div",
      { class: "answers", role: "group", "aria-label": `Answer ${who}`, "aria-describedby": textId },
      question.choices.map((choice) =>
        h("button", { type: "button", class: "choice", "aria-describedby": textId, onclick: () => choose(choice) }, choice),
      ),
      question.allowText
        ? h(
            "form",
            {
              class: "answer-text",
              autocomplete: "off",
              onsubmit: (event) => {
                event.preventDefault();
                const text = event.target.elements.answer.value.trim();
                if (text) choose(text);
              },
            },
            h("input", {
              name: "answer",
              required: true,
              maxlength: String(LIMITS.answer),
              placeholder: question.choices.length ? "or write an answer…" : "Your answer…",
              "aria-label": `Your answer to ${who}`,
              "aria-describedby": textId,
            }),
            h("button", { type: "submit" }, "Send"),
          )
        : null,
    ),
  );
}

// The open questions of the project, oldest first, at the top of the board (hidden when
// there are none). Patched by question: a person typing an answer keeps their text.
// `capped`: the page loaded as many open questions as one listing returns (there may be more).
export function renderQuestions(section, { store, links, answer, readOnly, capped }) {
  const open = store.openQuestions();
  setHidden(section, open.length === 0);
  setText(section.querySelector(".count"), countText(open.length, capped));
  patchList(
    section.querySelector("ul"),
    open.map((question) => ({ key: question.id, signature: questionSignature(question, store, readOnly), question })),
    ({ question }) => questionItem(question, { store, links, answer, readOnly }),
  );
}

// Keep each shown deadline current (the app calls this with the other relative times).
export function renderDeadlines(section, store, now = Date.now()) {
  for (const element of section.querySelectorAll("[data-deadline]")) {
    const question = store.questions.get(element.dataset.deadline);
    setText(element, question ? deadlineText(question, now) : "");
  }
}
