// The board benchmark's probe (bench/board.py), installed before the board's own scripts
// (Playwright's add_init_script). It reads only the board's timing contract
// (http_api/static/app.js, announceRender):
//   performance.mark("maestro:first-view", {detail: {seq, tasks, sessions, firstView}})
//   document "maestro:rendered" events, {detail: {seq, tasks, sessions, firstView}}, one per render
// and keeps what the benchmark reads back: small arrays, no DOM of its own.
(() => {
  const probe = {
    firstView: null, // {mark, detail, nextFrame}: performance.now() times
    rendered: [], // [seq, Date.now()] per render: epoch ms, the writer's clock
    longTasks: [], // [startTime, duration] of every long task (> 50 ms on the main thread)
    frames: null, // while frames are watched: {count, maxGap, last, on}
  };
  let firstViewDone;
  probe.firstViewDone = new Promise((resolve) => {
    firstViewDone = resolve;
  });

  // The first view: the mark, then the next animation frame, then a MessageChannel tick:
  // a frame's update (its rAF callbacks, style, layout, paint) runs as one task, so the
  // tick runs once the frame showing the first view is painted. The observer's callback
  // comes in a task after the mark's: if the board rendered inside an animation frame,
  // the frame awaited is the one after it (a frame with nothing to do), else the first
  // frame showing the view. "snapshot -> next frame" ends there.
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name !== "maestro:first-view" || probe.firstView) continue;
      probe.firstView = { mark: entry.startTime, detail: entry.detail, nextFrame: null };
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          probe.firstView.nextFrame = performance.now();
          firstViewDone(probe.firstView);
        };
        channel.port2.postMessage(null);
      });
    }
  }).observe({ type: "mark" });

  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) probe.longTasks.push([entry.startTime, entry.duration]);
  }).observe({ type: "longtask", buffered: true });

  // Callers waiting for a render that shows some seq (probe.until).
  const waiting = [];
  document.addEventListener("maestro:rendered", (event) => {
    const { seq } = event.detail;
    probe.rendered.push([seq, Date.now()]);
    for (let i = waiting.length - 1; i >= 0; i--) {
      if (seq >= waiting[i].seq) waiting.splice(i, 1)[0].resolve(seq);
    }
  });
  probe.until = (seq) =>
    new Promise((resolve) => {
      const shown = probe.rendered.length ? probe.rendered[probe.rendered.length - 1][0] : -1;
      if (shown >= seq) resolve(shown);
      else waiting.push({ seq, resolve });
    });

  // Frames while the feed runs: a requestAnimationFrame loop, on only while watched.
  probe.watchFrames = () => {
    const frames = { count: 0, maxGap: 0, last: null, on: true, started: performance.now() };
    probe.frames = frames;
    const tick = (time) => {
      if (!frames.on) return;
      if (frames.last !== null) frames.maxGap = Math.max(frames.maxGap, time - frames.last);
      frames.last = time;
      frames.count += 1;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    return frames.started;
  };
  probe.stopFrames = () => {
    probe.frames.on = false;
    probe.frames.stopped = performance.now();
    return probe.frames;
  };

  window.__maestroBench = probe;
})();
