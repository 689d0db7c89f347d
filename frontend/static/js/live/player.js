// The player's page of a live round: join, answer against the clock, see the result.
//
// The server decides everything (rules in DESIGN.md): this page never knows the key
// before the reveal and never judges an answer. It shows the options in the player's
// own order (snapshot.permutations), sends an answer with an id of its own, and waits
// for the server's ack or reject. The resume token is kept per PIN in localStorage, so
// a reload or a lost network comes back as the same player with the same score.

import { LiveClient, randomId } from "./client.js";
import {
  Announcer,
  Countdown,
  LABELS,
  SHAPES,
  drawLeaderboard,
  el,
  keyOptionIds,
  keyText,
  ordered,
  readJson,
  show,
  translator,
} from "./ui.js";

const config = readJson("live-config");
const t = translator(readJson("live-strings"));
const root = document.querySelector("[data-live-root]");
const $ = (selector) => root.querySelector(selector);
const views = {};
for (const node of root.querySelectorAll("[data-view]")) {
  views[node.dataset.view] = node;
}
const announcer = new Announcer($("[data-announce]"));

// --- storage: the resume token, the answer in flight, the last result -----------------

const storeKey = "sciarena.live." + config.pin;
const store = {
  get(name) {
    try {
      return JSON.parse(window.localStorage.getItem(storeKey + name) || "null");
    } catch (_error) {
      return null;
    }
  },
  set(name, value) {
    try {
      if (value === null) {
        window.localStorage.removeItem(storeKey + name);
      } else {
        window.localStorage.setItem(storeKey + name, JSON.stringify(value));
      }
    } catch (_error) {
      // Private mode or a full store: the page still works, without resume.
    }
  },
};

// --- state ------------------------------------------------------------------------------

const state = {
  me: store.get(""), // {token, player, nickname}
  status: null,
  pausedFrom: null,
  question: null, // the shared question frame
  total: 0,
  permutations: [],
  answer: store.get(".answer"), // {answer_id, question, choice, state, reason}
  result: store.get(".result"), // {index, correct, gained}
  you: null,
  reveal: null,
  leaderboard: [],
  draft: [], // choices picked so far (multiple, ordering)
  joined: false,
};

const client = new LiveClient({
  pin: config.pin,
  hello: () =>
    state.me && state.me.token
      ? { type: "resume", token: state.me.token }
      : config.joinMode === "roster"
        ? { type: "join", roster_token: state.nickname || "" }
        : { type: "join", nickname: state.nickname || "" },
  onFrame: (frame) => onFrame(frame),
  onConnection: (status) => drawConnection(status),
});
// For tests and for curious people with a console: the live client of this page.
window.sciarenaLive = client;

const countdown = new Countdown({
  number: $("[data-countdown-number]"),
  bar: $("[data-countdown-bar]"),
  label: $("[data-countdown]"),
  serverNow: () => client.serverNow(),
  t,
  onZero: () => {
    if (state.status === "question_open") {
      setAnswerStatus(state.answer ? null : t("time_up"));
      lockAnswers(true);
    }
  },
});

// --- connection ---------------------------------------------------------------------

function drawConnection(status) {
  const node = $("[data-connection]");
  node.dataset.state = status;
  node.textContent =
    status === "open" ? "" : status === "lost" ? t("reconnecting") : t("connecting");
}

// --- join ---------------------------------------------------------------------------------

const joinForm = $("[data-join-form]");
const nicknameInput = $("[data-nickname]");
const joinError = $("[data-join-error]");

function showJoinError(text) {
  joinError.textContent = text || "";
  show(joinError, Boolean(text));
  if (text) {
    nicknameInput.setAttribute("aria-invalid", "true");
    nicknameInput.focus();
  } else {
    nicknameInput.removeAttribute("aria-invalid");
  }
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  state.nickname = nicknameInput.value.trim();
  if (!state.nickname && (!config.signedIn || config.joinMode === "roster")) {
    showJoinError(t(config.joinMode === "roster" ? "error_roster_token" : "error_nickname"));
    return;
  }
  showJoinError("");
  joinForm.querySelector("button[type=submit]").disabled = true;
  show($("[data-connection]"), true);
  client.start();
});

const suggest = $("[data-suggest]");
if (suggest) {
  suggest.addEventListener("click", async () => {
    suggest.disabled = true;
    try {
      const response = await fetch(config.nicknameUrl, { credentials: "same-origin" });
      const data = await response.json();
      nicknameInput.value = data.nickname || "";
      nicknameInput.focus();
    } catch (_error) {
      // No suggestion this time: the player types a name.
    } finally {
      suggest.disabled = false;
    }
  });
}

function joinRefused(frame) {
  // The hello was refused: no reconnect loop, back to the form with the reason.
  client.stop();
  if (state.me) {
    state.me = null;
    store.set("", null);
  }
  const text =
    frame.code === "nickname" || frame.code === "refused"
      ? frame.detail || t("error_other")
      : t("error_" + frame.code) !== "error_" + frame.code
        ? t("error_" + frame.code)
        : frame.detail || t("error_other");
  setView("join");
  joinForm.querySelector("button[type=submit]").disabled = false;
  showJoinError(frame.code === "unknown_player" ? "" : text);
}

// --- frames --------------------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "welcome":
      state.joined = true;
      if (frame.token) {
        state.me = { token: frame.token, player: frame.player.id, nickname: frame.player.nickname };
        store.set("", state.me);
      }
      $("[data-me]").textContent = state.me ? state.me.nickname : "";
      break;
    case "snapshot":
      applySnapshot(frame);
      break;
    case "question_opened":
      state.status = "question_open";
      state.pausedFrom = null;
      openQuestion(frame.question, true);
      break;
    case "question_closed":
      state.status = "question_closed";
      if (state.question) {
        state.question.closes_at = frame.closes_at;
      }
      closeQuestion(true);
      break;
    case "revealed":
      state.status = "revealed";
      state.reveal = frame.reveal;
      takeYou(frame.you, frame.reveal ? frame.reveal.index : null);
      state.leaderboard = frame.leaderboard || [];
      drawReveal(true);
      break;
    case "leaderboard":
      state.status = "leaderboard";
      takeYou(frame.you, null);
      state.leaderboard = frame.leaderboard || [];
      drawBoard("leaderboard");
      break;
    case "finished":
      state.status = "finished";
      takeYou(frame.you, null);
      state.leaderboard = frame.leaderboard || [];
      drawBoard("finished");
      break;
    case "question_voided":
      takeYou(frame.you, null);
      state.leaderboard = frame.leaderboard || state.leaderboard;
      announcer.say(t("voided", { n: frame.question_index + 1 }));
      setNotice(t("voided", { n: frame.question_index + 1 }));
      if (state.status === "leaderboard" || state.status === "finished") {
        drawBoard(state.status);
      }
      break;
    case "paused":
      state.pausedFrom = frame.paused_from;
      state.status = "paused";
      if (frame.paused_from === "question_open" && state.question) {
        lockAnswers(true);
      }
      drawPaused(frame.remaining_ms);
      break;
    case "resumed":
      state.status = frame.status;
      state.pausedFrom = null;
      show(views.paused, false);
      if (frame.status === "question_open" && state.question) {
        state.question.closes_at = frame.closes_at;
        state.question.opens_at = frame.opened_at;
        countdown.run(frame.opened_at, frame.closes_at);
        lockAnswers(Boolean(state.answer) || !answersOpen());
      }
      break;
    case "aborted":
      state.status = "aborted";
      ended(t("aborted"));
      client.stop();
      break;
    case "kicked":
      state.me = null;
      store.set("", null);
      ended(t("kicked"));
      client.stop();
      break;
    case "ack":
      onAck(frame);
      break;
    case "reject":
      onReject(frame);
      break;
    case "error":
      if (!state.joined || frame.code === "unknown_player") {
        joinRefused(frame);
      } else if (frame.code === "rate_limited" && state.answer && state.answer.state === "sending") {
        setTimeout(sendAnswer, 1000);
      }
      break;
    default:
      break;
  }
}

function takeYou(you, revealedIndex) {
  if (!you) {
    return;
  }
  state.you = { ...(state.you || {}), ...you };
  state.total = you.points;
  if (revealedIndex !== null && revealedIndex !== undefined && "correct" in you) {
    state.result = { index: revealedIndex, correct: you.correct, gained: you.gained };
    store.set(".result", state.result);
  }
  drawTotal();
}

function applySnapshot(frame) {
  state.status = frame.status;
  state.totalQuestions = frame.total_questions;
  state.pausedFrom = frame.paused_from || null;
  state.permutations = frame.permutations || [];
  state.leaderboard = frame.leaderboard || [];
  state.reveal = frame.reveal || null;
  if (frame.you) {
    state.you = frame.you;
    state.total = frame.you.points;
  }
  $("[data-title]").textContent = frame.title;
  drawTotal();
  const visible = frame.status === "paused" ? frame.paused_from : frame.status;
  // The answer kept for this question: the server's word (you.answered) wins.
  if (frame.question) {
    reconcileAnswer(frame.question.index, frame.you ? frame.you.answered : null, visible);
  }
  if (visible === "lobby") {
    setView("lobby");
  } else if (visible === "question_open" || visible === "question_closed") {
    openQuestion(frame.question, false);
    if (visible === "question_closed") {
      closeQuestion(false);
    }
  } else if (visible === "revealed") {
    state.question = frame.question;
    drawReveal(false);
  } else if (visible === "leaderboard" || visible === "finished") {
    state.question = frame.question || null;
    drawBoard(visible);
  } else if (visible === "aborted") {
    ended(t("aborted"));
    client.stop();
  }
  if (frame.status === "paused") {
    drawPaused(frame.remaining_ms);
  } else {
    show(views.paused, false);
  }
}

function reconcileAnswer(index, answeredId, visible) {
  const answer = state.answer;
  if (answer && answer.question !== index) {
    clearAnswer();
  }
  if (answeredId) {
    if (!state.answer || state.answer.answer_id !== answeredId) {
      state.answer = { answer_id: answeredId, question: index, choice: null, state: "received" };
    } else {
      state.answer.state = "received";
    }
    store.set(".answer", state.answer);
  } else if (state.answer && state.answer.state === "sending") {
    if (visible === "question_open" || visible === "question_closed") {
      sendAnswer(); // the same answer_id again: the server stores it at most once
    } else {
      clearAnswer();
    }
  } else if (state.answer && state.answer.state === "received") {
    // The server has no answer of ours for this question (e.g. a reset): forget it.
    clearAnswer();
  }
}

function clearAnswer() {
  state.answer = null;
  store.set(".answer", null);
}

// --- views ---------------------------------------------------------------------------------

function setView(name) {
  for (const [key, node] of Object.entries(views)) {
    if (key !== "paused") {
      show(node, key === name);
    }
  }
  root.dataset.phase = name;
}

function setNotice(text) {
  const node = $("[data-notice]");
  node.textContent = text || "";
  show(node, Boolean(text));
}

function drawTotal() {
  const node = $("[data-total]");
  node.textContent = state.me ? t("total", { points: state.total || 0 }) : "";
}

function ended(text) {
  countdown.stop(false);
  $("[data-ended-text]").textContent = text;
  setView("ended");
  show(views.paused, false);
  announcer.say(text);
}

function drawPaused(remainingMs) {
  show(views.paused, true);
  if (typeof remainingMs === "number") {
    countdown.freeze(remainingMs);
  }
  announcer.say(t("paused"));
}

// --- a question ------------------------------------------------------------------------------

function optionContent(option, position) {
  const look = SHAPES[position % SHAPES.length];
  return [
    el("span", { class: "shape", "aria-hidden": "true", text: look.shape }),
    el("span", { class: "option-label", text: LABELS[position] || "" }),
    el("span", { class: "option-text", html: option.text }),
  ];
}

function openQuestion(question, fresh) {
  if (!question) {
    return;
  }
  const changed = !state.question || state.question.index !== question.index || fresh;
  state.question = question;
  if (fresh && state.answer && state.answer.question !== question.index) {
    clearAnswer();
  }
  if (changed || fresh) {
    state.draft = [];
  }
  setNotice("");
  setView("question");
  $("[data-question-meta]").textContent = t("question_of", {
    n: question.index + 1,
    total: state.totalQuestions || "?",
  });
  $("[data-stem]").innerHTML = question.stem;
  drawAnswerArea();
  countdown.run(question.opens_at, question.closes_at);
  const open = state.status === "question_open" && countdown.remaining() > 0;
  lockAnswers(!open || Boolean(state.answer));
  drawAnswerStatus();
  if (fresh) {
    const stemText = $("[data-stem]").textContent.trim();
    announcer.say(
      t("question_of", { n: question.index + 1, total: state.totalQuestions || "?" }) +
        ". " +
        stemText,
    );
  }
}

function drawAnswerArea() {
  const question = state.question;
  const area = $("[data-answer-area]");
  area.replaceChildren();
  area.dataset.type = question.type;
  const perm = state.permutations[question.index];
  const mine = state.answer ? state.answer.choice : null;
  if (question.type === "single") {
    const list = el("div", { class: "options", role: "group", "aria-labelledby": "live-stem" });
    ordered(question.options, perm).forEach(({ option }, position) => {
      list.append(
        el(
          "button",
          {
            type: "button",
            class: "option shape-" + (position % SHAPES.length),
            "data-option": option.id,
            "aria-pressed": mine === option.id ? "true" : "false",
            onclick: () => submit(option.id),
          },
          ...optionContent(option, position),
        ),
      );
    });
    area.append(list);
  } else if (question.type === "multiple" || question.type === "ordering") {
    const ordering = question.type === "ordering";
    area.append(el("p", { class: "hint", text: t(ordering ? "ordering_hint" : "multiple_hint") }));
    if (Array.isArray(mine)) {
      state.draft = mine.slice();
    }
    const list = el("div", { class: "options", role: "group", "aria-labelledby": "live-stem" });
    ordered(question.options, perm).forEach(({ option }, position) => {
      const button = el(
        "button",
        {
          type: "button",
          class: "option shape-" + (position % SHAPES.length),
          "data-option": option.id,
          "aria-pressed": "false",
          onclick: () => toggleDraft(option.id, ordering),
        },
        ...optionContent(option, position),
        el("span", { class: "option-order", "aria-hidden": "true" }),
      );
      list.append(button);
    });
    area.append(list);
    area.append(
      el(
        "div",
        { class: "answer-actions" },
        ordering
          ? el("button", {
              type: "button",
              class: "button",
              "data-clear": "",
              text: t("answer_clear"),
              onclick: () => {
                state.draft = [];
                drawDraft();
              },
            })
          : null,
        el("button", {
          type: "button",
          class: "button button-primary button-big",
          "data-submit": "",
          text: t("answer_submit"),
          onclick: () => submit(state.draft.slice()),
        }),
      ),
    );
    drawDraft();
  } else if (question.type === "true_false") {
    const list = el("div", { class: "options options-two", role: "group", "aria-labelledby": "live-stem" });
    [
      [true, "✓", t("true")],
      [false, "✗", t("false")],
    ].forEach(([value, mark, label], position) => {
      list.append(
        el(
          "button",
          {
            type: "button",
            class: "option shape-" + position,
            "data-option": String(value),
            "aria-pressed": mine === value ? "true" : "false",
            onclick: () => submit(value),
          },
          el("span", { class: "shape", "aria-hidden": "true", text: mark }),
          el("span", { class: "option-text", text: label }),
        ),
      );
    });
    area.append(list);
  } else {
    const numeric = question.type === "numeric";
    const form = el(
      "form",
      {
        class: "typed-answer",
        onsubmit: (event) => {
          event.preventDefault();
          const value = input.value.trim();
          if (value) {
            submit(value);
          }
        },
      },
      el("label", { for: "live-typed", class: "visually-hidden", text: t("answer_placeholder") }),
    );
    const input = el("input", {
      id: "live-typed",
      type: "text",
      inputmode: numeric ? "decimal" : "text",
      autocomplete: "off",
      maxlength: numeric ? 50 : 200,
      placeholder: t("answer_placeholder"),
      "data-typed": "",
    });
    if (typeof mine === "string") {
      input.value = mine;
    }
    form.append(
      input,
      el("button", {
        type: "submit",
        class: "button button-primary button-big",
        "data-submit": "",
        text: t("answer_submit"),
      }),
    );
    area.append(form);
  }
}

function toggleDraft(id, ordering) {
  const at = state.draft.indexOf(id);
  if (at >= 0) {
    state.draft.splice(at, 1);
  } else {
    state.draft.push(id);
  }
  if (!ordering) {
    state.draft.sort();
  }
  drawDraft();
}

function drawDraft() {
  const question = state.question;
  const ordering = question.type === "ordering";
  for (const button of $("[data-answer-area]").querySelectorAll("[data-option]")) {
    const at = state.draft.indexOf(button.dataset.option);
    button.setAttribute("aria-pressed", at >= 0 ? "true" : "false");
    const badge = button.querySelector(".option-order");
    if (badge) {
      badge.textContent = ordering && at >= 0 ? String(at + 1) : at >= 0 ? "✓" : "";
    }
  }
  const submitButton = $("[data-answer-area] [data-submit]");
  if (submitButton) {
    const complete = ordering
      ? state.draft.length === question.options.length
      : state.draft.length > 0;
    submitButton.disabled = !complete || Boolean(state.answer) || !answersOpen();
  }
}

function answersOpen() {
  return state.status === "question_open" && countdown.remaining() > 0;
}

function lockAnswers(locked) {
  const area = $("[data-answer-area]");
  for (const control of area.querySelectorAll("button, input")) {
    control.disabled = locked;
  }
  if (!locked && (state.question.type === "multiple" || state.question.type === "ordering")) {
    drawDraft();
  }
}

function submit(choice) {
  if (state.answer || !answersOpen()) {
    return;
  }
  state.answer = {
    answer_id: randomId(),
    question: state.question.index,
    choice,
    state: "sending",
  };
  store.set(".answer", state.answer);
  lockAnswers(true);
  markChoice(choice);
  drawAnswerStatus();
  sendAnswer();
}

function sendAnswer() {
  const answer = state.answer;
  if (!answer || answer.state !== "sending") {
    return;
  }
  client.send({
    type: "answer",
    answer_id: answer.answer_id,
    question: answer.question,
    choice: answer.choice,
  });
}

function markChoice(choice) {
  const chosen = Array.isArray(choice) ? choice.map(String) : [String(choice)];
  for (const button of $("[data-answer-area]").querySelectorAll("[data-option]")) {
    button.setAttribute("aria-pressed", chosen.includes(button.dataset.option) ? "true" : "false");
  }
}

function onAck(frame) {
  if (!state.answer || state.answer.answer_id !== frame.answer_id) {
    return;
  }
  state.answer.state = "received";
  store.set(".answer", state.answer);
  drawAnswerStatus();
  announcer.say(t("answer_received"));
}

function onReject(frame) {
  if (!state.answer || state.answer.answer_id !== frame.answer_id) {
    return;
  }
  const reason = frame.reason || "other";
  const key = "reject_" + reason;
  const text = t(key) !== key ? t(key) : t("reject_other");
  if (reason === "bad_response" && answersOpen()) {
    clearAnswer(); // let the player try again
    lockAnswers(false);
    setAnswerStatus(text);
  } else {
    state.answer.state = "rejected";
    state.answer.reason = reason;
    store.set(".answer", state.answer);
    drawAnswerStatus();
  }
  announcer.say(text);
}

function drawAnswerStatus() {
  const answer = state.answer;
  const node = $("[data-answer-status]");
  node.classList.remove("is-ok", "is-bad", "is-wait");
  if (!answer) {
    if (state.status === "question_closed") {
      setAnswerStatus(t("closed"));
    } else {
      setAnswerStatus("");
    }
    return;
  }
  if (answer.choice !== null && answer.choice !== undefined) {
    markChoice(answer.choice);
  }
  if (answer.state === "sending") {
    node.classList.add("is-wait");
    setAnswerStatus(t("answer_sending"));
  } else if (answer.state === "received") {
    node.classList.add("is-ok");
    setAnswerStatus(
      "✓ " + t("answer_received") + (state.status === "question_closed" ? " " + t("closed") : ""),
    );
  } else {
    node.classList.add("is-bad");
    const key = "reject_" + (answer.reason || "other");
    setAnswerStatus("✗ " + (t(key) !== key ? t(key) : t("reject_other")));
  }
  root.dataset.answer = answer.state;
}

function setAnswerStatus(text) {
  if (text === null) {
    return;
  }
  const node = $("[data-answer-status]");
  node.textContent = text;
  show(node, Boolean(text));
  if (!state.answer) {
    delete root.dataset.answer;
  }
}

function closeQuestion(fresh) {
  countdown.stop(true);
  if (state.question) {
    lockAnswers(true);
  }
  drawAnswerStatus();
  if (fresh) {
    announcer.say(t("closed"));
  }
}

// --- reveal, leaderboard, end ----------------------------------------------------------------

function drawReveal(fresh) {
  countdown.stop(false);
  const reveal = state.reveal;
  const question = state.question;
  setView("reveal");
  const banner = $("[data-result]");
  banner.classList.remove("is-right", "is-wrong", "is-none");
  const result =
    state.result && reveal && state.result.index === reveal.index ? state.result : null;
  const answered = state.answer && state.answer.state === "received";
  let headline = "";
  if (result && result.correct === true) {
    banner.classList.add("is-right");
    headline = "✓ " + t("correct");
  } else if (result && result.correct === false) {
    banner.classList.add("is-wrong");
    headline = "✗ " + t("wrong");
  } else if (!answered && fresh) {
    banner.classList.add("is-none");
    headline = t("no_answer");
  }
  banner.dataset.result = result ? (result.correct ? "right" : "wrong") : "none";
  $("[data-result-headline]").textContent = headline;
  show($("[data-result-headline]"), Boolean(headline));
  const gained = $("[data-gained]");
  gained.textContent = result ? t("gained", { points: result.gained || 0 }) : "";
  show(gained, Boolean(result));
  const you = state.you || {};
  $("[data-result-total]").textContent = t("total", { points: you.points || 0 });
  $("[data-result-rank]").textContent = you.rank ? t("rank", { rank: you.rank }) : "";
  $("[data-result-streak]").textContent = you.streak ? t("streak", { streak: you.streak }) : "";
  drawKey(question, reveal);
  const explanation = $("[data-explanation]");
  const hasExplanation = Boolean(reveal && reveal.explanation);
  $("[data-explanation-text]").innerHTML = hasExplanation ? reveal.explanation : "";
  show(explanation, hasExplanation);
  if (fresh) {
    announcer.say([headline, gained.textContent, $("[data-result-total]").textContent].join(" "));
  }
}

function drawKey(question, reveal) {
  const box = $("[data-key]");
  box.replaceChildren();
  if (!question || !reveal) {
    return;
  }
  const key = reveal.key;
  const right = keyOptionIds(key);
  const perm = state.permutations[question.index];
  const mine = state.answer && state.answer.choice;
  const chosen = Array.isArray(mine) ? mine : mine !== null && mine !== undefined ? [mine] : [];
  box.append(el("h3", { class: "key-title", text: t("right_answer") }));
  if (question.type === "single" || question.type === "multiple") {
    const list = el("ul", { class: "key-options" });
    ordered(question.options, perm).forEach(({ option }, position) => {
      const isRight = right.includes(option.id);
      list.append(
        el(
          "li",
          {
            class:
              "key-option shape-" +
              (position % SHAPES.length) +
              (isRight ? " is-right" : "") +
              (chosen.includes(option.id) ? " is-mine" : ""),
          },
          el("span", { class: "key-mark", "aria-hidden": "true", text: isRight ? "✓" : "" }),
          ...optionContent(option, position),
          isRight ? el("span", { class: "visually-hidden", text: " (" + t("right_answer") + ")" }) : null,
          chosen.includes(option.id) ? el("span", { class: "key-mine", text: t("your_answer") }) : null,
        ),
      );
    });
    box.append(list);
  } else if (question.type === "ordering") {
    const byId = new Map(question.options.map((o) => [o.id, o]));
    const list = el("ol", { class: "key-order" });
    for (const id of right) {
      const option = byId.get(id);
      if (option) {
        list.append(el("li", { html: option.text }));
      }
    }
    box.append(list);
  } else {
    box.append(el("p", { class: "key-text", text: keyText(question, key, t) }));
  }
}

function drawBoard(kind) {
  countdown.stop(false);
  setView(kind === "finished" ? "finished" : "leaderboard");
  const view = kind === "finished" ? views.finished : views.leaderboard;
  const list = view.querySelector("[data-board]");
  drawLeaderboard(list, state.leaderboard, {
    highlight: state.me ? state.me.player : undefined,
    t,
    rowHeight: 3.25,
  });
  const you = state.you || {};
  const summary = you.rank
    ? t("your_rank", { rank: you.rank, points: you.points || 0 })
    : t("total", { points: you.points || 0 });
  view.querySelector("[data-board-you]").textContent = summary;
  announcer.say((kind === "finished" ? t("finished") + " " : t("leaderboard") + ". ") + summary);
}

// --- start -----------------------------------------------------------------------------------

drawConnection("connecting");
if (state.me && state.me.token) {
  setView("connecting");
  client.start();
} else {
  setView("join");
  show($("[data-connection]"), false);
  if (config.nickname && !nicknameInput.value) {
    nicknameInput.value = config.nickname;
  }
}
