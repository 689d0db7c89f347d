// Timed challenge: a countdown to the server's deadline. It only announces: the
// server marks an answer that arrives late whatever this shows, and the page works
// without it. The time left comes from the server in milliseconds, so the phone's
// own clock (often wrong) plays no part.
const GRACE_EXTRA_MS = 300;

function start(root) {
  const seconds = root.querySelector("[data-seconds]");
  const done = root.querySelector("[data-countdown-done]");
  const remaining = Number(root.dataset.remainingMs);
  const grace = Number(root.dataset.graceMs || 0);
  if (!seconds || !Number.isFinite(remaining)) {
    return;
  }
  const end = performance.now() + remaining;
  let timer = 0;

  function finish() {
    window.clearInterval(timer);
    if (done) {
      done.hidden = false;
    }
    for (const button of document.querySelectorAll("[data-one-question-form] button")) {
      button.disabled = true;
    }
    // After the grace the server has closed the attempt: show its result.
    window.setTimeout(() => {
      window.location.assign(root.dataset.resultUrl);
    }, grace + GRACE_EXTRA_MS);
  }

  function tick() {
    const left = Math.max(0, end - performance.now());
    seconds.textContent = String(Math.ceil(left / 1000));
    root.classList.toggle("is-low", left <= 10000);
    if (left <= 0) {
      finish();
    }
  }

  tick();
  if (remaining > 0) {
    timer = window.setInterval(tick, 250);
  }
}

const root = document.querySelector("[data-countdown]");
if (root) {
  start(root);
  // Back to this page from the history cache: the time shown would be stale.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      window.location.reload();
    }
  });
}
