// The live feed: a WebSocket that resumes after the store's last seq, reconnecting with
// backoff, and that asks for a refetch only when the server says `sync:reset`.

import { auth } from "./api.js";
import { EPOCH_QUERY, TOKEN_QUERY } from "./vocabulary.js";

const BACKOFF_START = 250;
const BACKOFF_MAX = 8000;

export class Feed {
  constructor({ since, onEvent, onState, onReset, onRefused }) {
    this.since = since; // () => the seq to resume after
    this.onEvent = onEvent;
    this.onState = onState;
    this.onReset = onReset;
    this.onRefused = onRefused; // closed before sync:ready: perhaps the token is wrong
    this.socket = null;
    this.backoff = BACKOFF_START;
    this.timer = null;
    this.waitingForRefetch = false;
    this.ready = false;
    this.epoch = null; // the log history our seqs belong to (from sync:ready)
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // Browsers cannot put headers on a WebSocket handshake: the token goes in the query.
    const token = auth.token;
    const tokenQuery = token ? `&${TOKEN_QUERY}=${encodeURIComponent(token)}` : "";
    // Our seqs mean something only in this history of the log: the server resets us if
    // the database was replaced (a restored backup) instead of resuming by number.
    const epochQuery = this.epoch ? `&${EPOCH_QUERY}=${encodeURIComponent(this.epoch)}` : "";
    return `${scheme}//${location.host}/ws?since=${this.since()}${tokenQuery}${epochQuery}`;
  }

  connect() {
    clearTimeout(this.timer);
    this.waitingForRefetch = false;
    const socket = new WebSocket(this.url());
    this.socket = socket;
    this.ready = false;
    socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onState("offline");
      // A browser does not say why a handshake failed; the app can ask over REST.
      if (!this.ready) this.onRefused();
      if (this.waitingForRefetch) return; // the app reconnects once it has refetched
      this.timer = setTimeout(() => {
        this.onState("reconnecting");
        this.connect();
      }, this.backoff);
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
    };
  }

  receive(message) {
    if (message.event === "sync:ready") {
      this.ready = true;
      this.epoch = message.data.epoch || null;
      this.backoff = BACKOFF_START;
      this.onState("live");
    } else if (message.event === "sync:reset") {
      // slow_consumer: our seq still resumes. Otherwise the log no longer reaches back
      // that far: the store must be refetched before we resume.
      if (message.data.reason !== "slow_consumer") {
        this.waitingForRefetch = true;
        this.epoch = null; // the refetched snapshot belongs to the current history
        this.onReset();
      }
    } else if (typeof message.seq === "number") {
      this.onEvent(message);
    }
  }
}
