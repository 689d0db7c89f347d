// Whole papers (practice papers, the daily quiz, themed practice): save each answer
// as it is chosen, and submit through the JSON endpoint (docs/papers-api.md). The page
// works without this: the form posts as ever, and it is the fallback here too.
//
// One save in flight per question: a newer answer waits for the one being sent, so
// the server (where the latest save wins) never gets them out of order. A save that
// fails for the network or the server's load is sent again with the same answer_id
// (the server stores it at most once). A save never tells whether the answer is right.
const RETRIES = 5;
const TEXT_PAUSE_MS = 1200;

function backoffDelay(attempt) {
  const base = Math.min(4000, 300 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

function newAnswerId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function csrfToken(form) {
  const field = form.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

// The answer a question's inputs give: null when left empty, undefined when it
// cannot be sent yet (an ordering with some places missing or given twice).
function answerOf(fieldset) {
  const type = fieldset.dataset.type;
  const inputs = Array.from(fieldset.querySelectorAll("input, select"));
  if (type === "single") {
    const chosen = inputs.find((input) => input.checked);
    return chosen ? chosen.value : null;
  }
  if (type === "multiple") {
    const chosen = inputs.filter((input) => input.checked).map((input) => input.value);
    return chosen.length ? chosen : null;
  }
  if (type === "true_false") {
    const chosen = inputs.find((input) => input.checked);
    return chosen ? chosen.value === "true" : null;
  }
  if (type === "ordering") {
    const prefix = `item-${fieldset.dataset.item}-`;
    const places = inputs.map((select) => [select.name.slice(prefix.length), select.value]);
    if (places.every(([, place]) => place === "")) {
      return null;
    }
    const wanted = places.map((_, n) => String(n + 1));
    const given = places.map(([, place]) => place).sort((a, b) => Number(a) - Number(b));
    if (given.join(",") !== wanted.join(",")) {
      return undefined;
    }
    return places.sort((a, b) => Number(a[1]) - Number(b[1])).map(([id]) => id);
  }
  const text = inputs.length ? inputs[0].value.trim() : "";
  return text === "" ? null : text;
}

function start(form) {
  const url = form.dataset.saveUrl;
  const texts = {
    saving: form.dataset.textSaving,
    saved: form.dataset.textSaved,
    failed: form.dataset.textFailed,
    incomplete: form.dataset.textIncomplete,
  };
  const queues = new Map();

  function say(fieldset, text) {
    const status = fieldset.querySelector("[data-save-status]");
    if (status) {
      // A no-break space keeps the line's height: the page never moves.
      status.textContent = text || "\u00a0";
    }
  }

  async function send(fieldset, answer, answerId) {
    for (let attempt = 0; ; attempt += 1) {
      let response = null;
      try {
        response = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": csrfToken(form),
          },
          body: JSON.stringify({ item: Number(fieldset.dataset.item), answer, answer_id: answerId }),
        });
      } catch {
        response = null; // the network: send the same save again
      }
      if (response && response.ok) {
        return { ok: true };
      }
      if (response && response.status === 409) {
        window.location.reload(); // submitted (another tab): show the results
        return { ok: false };
      }
      if (response && response.status >= 400 && response.status < 500) {
        const body = await response.json().catch(() => ({}));
        return { ok: false, detail: body.detail || texts.failed };
      }
      if (attempt >= RETRIES) {
        return { ok: false, detail: texts.failed };
      }
      await new Promise((resolve) => window.setTimeout(resolve, backoffDelay(attempt)));
    }
  }

  async function drain(fieldset) {
    const queue = queues.get(fieldset);
    queue.busy = true;
    while (queue.pending !== undefined) {
      const answer = queue.pending;
      queue.pending = undefined;
      say(fieldset, texts.saving);
      const result = await send(fieldset, answer, newAnswerId());
      if (queue.pending === undefined) {
        say(fieldset, result.ok ? texts.saved : result.detail);
      }
    }
    queue.busy = false;
  }

  function save(fieldset) {
    const answer = answerOf(fieldset);
    if (answer === undefined) {
      say(fieldset, texts.incomplete);
      return;
    }
    if (!queues.has(fieldset)) {
      queues.set(fieldset, { busy: false, pending: undefined, timer: 0 });
    }
    const queue = queues.get(fieldset);
    window.clearTimeout(queue.timer);
    queue.pending = answer;
    if (!queue.busy) {
      drain(fieldset);
    }
  }

  form.addEventListener("change", (event) => {
    const fieldset = event.target.closest("fieldset[data-item]");
    if (fieldset) {
      save(fieldset);
    }
  });
  form.addEventListener("input", (event) => {
    const fieldset = event.target.closest("fieldset[data-item]");
    if (!fieldset || event.target.type !== "text") {
      return;
    }
    if (!queues.has(fieldset)) {
      queues.set(fieldset, { busy: false, pending: undefined, timer: 0 });
    }
    const queue = queues.get(fieldset);
    window.clearTimeout(queue.timer);
    queue.timer = window.setTimeout(() => save(fieldset), TEXT_PAUSE_MS);
  });

  let submitting = false;
  form.addEventListener("submit", async (event) => {
    if (submitting) {
      event.preventDefault();
      return;
    }
    const answers = {};
    for (const fieldset of form.querySelectorAll("fieldset[data-item]")) {
      const answer = answerOf(fieldset);
      if (answer === undefined) {
        return; // the form's own POST shows what to fix
      }
      answers[fieldset.dataset.item] = answer;
    }
    event.preventDefault();
    submitting = true;
    const button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(form),
        },
        body: JSON.stringify({ answers }),
      });
      if (response.ok) {
        const body = await response.json();
        window.location.assign(body.url);
        return;
      }
    } catch {
      // the network: the form's own POST below
    }
    // Anything else: the form's own POST, whose page says what went wrong.
    form.submit();
  });
}

const form = document.querySelector("form[data-paper-form]");
if (form && form.dataset.saveUrl && window.fetch) {
  start(form);
}
