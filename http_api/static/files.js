// Who holds which files: the live file reservations of the project, on each session (the
// patterns it holds, exclusive or shared, until when) and in the Files section (holders
// by pattern, each with a person's "Release").
//
// A reservation's lease moves on with every heartbeat of its session: its time is left
// out of an item's signature and updated in place (`showUntil`), so a heartbeat rebuilds
// nothing and the focus stays where it is (on a "Release", say).

import { clock, h, patchList, setHidden } from "./views.js";

function mode(reservation) {
  return reservation.exclusive ? "exclusive" : "shared";
}

export function fileSignature(reservation) {
  return `${reservation.pattern}|${reservation.exclusive}|${reservation.taskId}`;
}

// The time an item shows, "until 14:05:09" (its datetime to the millisecond).
function untilTime(reservation) {
  return h("time", { class: "until", datetime: new Date(reservation.expiresAt).toISOString() }, `until ${clock(reservation.expiresAt)}`);
}

// Bring the times of a patched list's items up to date (a renewal moved them on).
function showUntil(list) {
  for (let item = list.firstElementChild; item; item = item.nextElementSibling) {
    const reservation = item._reservation;
    if (!reservation || item._expiresAt === reservation.expiresAt) continue;
    item._expiresAt = reservation.expiresAt;
    const time = item.querySelector(".until");
    const datetime = new Date(reservation.expiresAt).toISOString();
    if (time.getAttribute("datetime") === datetime) continue;
    time.setAttribute("datetime", datetime);
    time.textContent = `until ${clock(reservation.expiresAt)}`;
    if (item.title) item.title = `Held ${mode(reservation)} until ${clock(reservation.expiresAt)}`;
  }
}

// patchList, and each item then knows the reservation it shows now.
function patchReservations(list, items, render) {
  patchList(list, items, render);
  for (let node = list.firstElementChild, i = 0; node; node = node.nextElementSibling, i++) node._reservation = items[i].reservation;
  showUntil(list);
}

// One pattern a session holds, as its item lists it.
export function heldFile(reservation) {
  const until = clock(reservation.expiresAt);
  return h(
    "li",
    { class: `held ${mode(reservation)}`, title: `Held ${mode(reservation)} until ${until}` },
    h("code", { class: "pattern" }, reservation.pattern),
    " ",
    h("span", { class: "mode" }, mode(reservation)),
    " ",
    untilTime(reservation),
  );
}

// One reservation in the Files section: the pattern, who holds it (a link to the
// session), for which task, until when, and the person's override.
export function fileItem({ reservation, holder, task }, { links, release, readOnly }) {
  const who = holder ? links.session(holder.id, holder.agent ? `${holder.agent} · ${holder.name}` : holder.name) : reservation.sessionId;
  const name = holder ? holder.agent || holder.name : reservation.sessionId;
  return h(
    "li",
    { class: `file ${mode(reservation)}`, dataset: { id: reservation.id } },
    h("code", { class: "pattern" }, reservation.pattern),
    h(
      "span",
      { class: "file-meta" },
      who,
      " ",
      h("span", { class: "mode" }, mode(reservation)),
      task ? [" · ", links.task(task.id, task.title)] : null,
      " ",
      untilTime(reservation),
    ),
    // A read-only board releases nothing (its note says why).
    readOnly
      ? null
      : h(
          "button",
          { type: "button", class: "ghost danger release", "aria-label": `Release ${reservation.pattern} held by ${name}`, onclick: () => release(reservation.id) },
          "Release",
        ),
  );
}

// The Files section: every live reservation of the project, by pattern.
export function renderFiles(list, empty, { store, links, release, readOnly }) {
  const reservations = store.reservationList();
  patchReservations(
    list,
    reservations.map((reservation) => {
      const holder = store.sessions.get(reservation.sessionId) ?? null;
      const task = reservation.taskId ? store.tasks.get(reservation.taskId) ?? null : null;
      return {
        key: reservation.id,
        signature: `${fileSignature(reservation)}|${holder?.name}|${holder?.agent}|${task?.title}|${readOnly}`,
        reservation,
        holder,
        task,
      };
    }),
    (item) => fileItem(item, { links, release, readOnly }),
  );
  setHidden(empty, reservations.length > 0);
  return reservations.length;
}

// A session holds up to a couple of hundred patterns: its item lists the first few until
// it is opened.
const FILES_SHOWN = 5;

// The files each session item lists: patched in its own list, and only when the
// reservations changed since (or the item was rebuilt, with an empty list: opening or
// closing a session rebuilds it).
export function renderSessionFiles(sessionList, store) {
  const revision = store.revisions.reservations;
  const bySession = store.reservationsBySession();
  for (let item = sessionList.firstElementChild; item; item = item.nextElementSibling) {
    const files = item._files ?? (item._files = item.querySelector(".session-files"));
    if (files._revision === revision) continue;
    files._revision = revision;
    const held = bySession.get(item._key) ?? [];
    const shown = item.classList.contains("expanded") ? held : held.slice(0, FILES_SHOWN);
    const more = held.length - shown.length;
    patchReservations(
      files,
      [
        ...shown.map((reservation) => ({ key: reservation.id, signature: fileSignature(reservation), reservation })),
        ...(more > 0 ? [{ key: "more", signature: String(more), more }] : []),
      ],
      ({ reservation, more }) => (reservation ? heldFile(reservation) : h("li", { class: "more-files" }, `and ${more} more`)),
    );
  }
}
