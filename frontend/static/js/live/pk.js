// SciArena 1-v-1 PK: find an opponent, then play a short match (docs/protocol.md,
// "1-v-1 PK"). The server owns the match; this page keeps the connection (the live
// rounds' client: clock, seq, reconnects) and draws the frames it gets.

import { answerRetried, randomId, retryAfter } from "./client.js";
import { SHAPES, el, keyOptionIds, keyOptionItem, keyText, livePage, optionContent, ordered, show } from "./ui.js";

const { t, root, $, views, announcer, round } = livePage();

// Errors that end a find or a resume: back to the start.
const START_ERRORS = ["sign_in_required", "consent_required", "no_questions", "unknown_player"];

const state = {
  token: null, // resume token of this player's seat, once matched
  searching: false,
  you: null,
  opponent: null,
  players: [],
  permutations: [],
  question: null,
  answer: null, // {question, answer_id, choice, state: "sending" | "received" | "rejected", retries}
  opponentAnswered: false,
  reveal: null,
  nextAt: null,
};

function hello() {
  if (state.token) {
    return { type: "pk_resume", token: state.token };
  }
  return state.searching ? { type: "pk_find" } : { type: "ping", t: Date.now() };
}

const { client, countdown } = round({ hello, onFrame });
let tick = null;

function setView(name) {
  root.dataset.phase = name;
  for (const [key, node] of Object.entries(views)) {
    show(node, key === name);
  }
}

function seconds(at) {
  return Math.max(0, Math.ceil((at - client.serverNow()) / 1000));
}

/** Redraw a line every 250 ms from the server clock (a wait, a countdown to the next step). */
function every(draw) {
  clearInterval(tick);
  draw();
  tick = setInterval(draw, 250);
}

function mine(players) {
  return players.find((p) => p.seat === state.you.seat) || {};
}

function theirs(players) {
  return players.find((p) => p.seat !== state.you.seat) || {};
}

function drawScore() {
  const line = $("[data-score]");
  if (!state.you || state.players.length < 2) {
    show(line, false);
    return;
  }
  line.textContent = t("pk_score_line", {
    you: state.you.nickname,
    mine: mine(state.players).points,
    theirs: theirs(state.players).points,
    opponent: state.opponent.nickname,
  });
  show(line, true);
}

function find() {
  state.searching = true;
  show($("[data-start-error]"), false);
  client.send({ type: "pk_find" });
  setView("waiting");
}

function onFrame(frame) {
  switch (frame.type) {
    case "pk_waiting":
      setView("waiting");
      every(() => {
        $("[data-wait-left]").textContent = t("pk_wait_left", { s: seconds(frame.until) });
      });
      break;
    case "pk_timeout":
    case "pk_cancelled":
      state.searching = false;
      clearInterval(tick);
      setView("start");
      notice(t(frame.type));
      break;
    case "pk_matched":
      state.searching = false;
      state.token = frame.token;
      state.you = frame.you;
      state.opponent = frame.opponent;
      announcer.say(t("pk_versus", { you: frame.you.nickname, opponent: frame.opponent.nickname }));
      break;
    case "snapshot":
      applySnapshot(frame);
      break;
    case "question_opened":
      openQuestion(frame.question);
      break;
    case "pk_answered":
      if (state.you && frame.seat !== state.you.seat && state.question && frame.question_index === state.question.index) {
        state.opponentAnswered = true;
        drawOpponentStatus();
      }
      break;
    case "revealed":
      state.players = frame.players;
      state.reveal = frame.reveal;
      state.nextAt = frame.next_at;
      drawReveal(true);
      break;
    case "finished":
      state.players = frame.players;
      drawFinished(frame.winner);
      break;
    case "ack":
    case "reject":
      answerReply(frame);
      break;
    case "error": {
      if (frame.code === "retry") {
        onRetry(frame.detail);
        break;
      }
      const key = "error_" + frame.code;
      const text = t(key) !== key ? t(key) : t("error_other");
      if (!START_ERRORS.includes(frame.code)) {
        notice(text);
        break;
      }
      state.token = null;
      state.searching = false;
      clearInterval(tick);
      setView("start");
      showError(text);
      break;
    }
    default:
      break;
  }
}

function notice(text) {
  const node = $("[data-notice]");
  node.textContent = text;
  show(node, Boolean(text));
  announcer.say(text);
}

function showError(text) {
  const node = $("[data-start-error]");
  node.textContent = text;
  show(node, true);
}

function applySnapshot(frame) {
  notice("");
  state.players = frame.players;
  state.you = { ...state.you, ...frame.you };
  state.permutations = frame.permutations;
  drawScore();
  if (frame.status === "lobby") {
    setView("ready");
    $("[data-ready-versus]").textContent = t("pk_versus", {
      you: state.you.nickname,
      opponent: state.opponent.nickname,
    });
    every(() => {
      $("[data-ready-text]").textContent = t("pk_get_ready", { s: seconds(frame.next_at) });
    });
    return;
  }
  if (frame.question) {
    const same = state.answer && state.answer.question === frame.question.index;
    if (!same) {
      state.opponentAnswered = false;
      state.answer = frame.you.answered
        ? { question: frame.question.index, answer_id: frame.you.answered, choice: null, state: "received" }
        : null;
    }
    state.question = frame.question;
  }
  if (frame.status === "finished") {
    drawFinished(frame.winner);
  } else if (frame.status === "revealed") {
    state.reveal = frame.reveal;
    state.nextAt = frame.next_at;
    drawReveal(false);
  } else {
    openQuestion(frame.question);
  }
}

function openQuestion(question) {
  clearInterval(tick);
  if (!state.question || state.question.index !== question.index) {
    state.answer = null;
    state.opponentAnswered = false;
  }
  state.question = question;
  state.reveal = null;
  setView("question");
  $("[data-question-meta]").textContent = t("question_of", { n: question.index + 1, total: state.permutations.length });
  $("[data-stem]").innerHTML = question.stem;
  drawOptions();
  drawAnswerStatus();
  drawOpponentStatus();
  countdown.run(question.opens_at, question.closes_at);
  drawScore();
}

function choices(question) {
  if (question.type === "true_false") {
    return [
      { value: true, content: [el("span", { class: "shape", "aria-hidden": "true", text: "✓" }), el("span", { class: "option-text", text: t("true") })] },
      { value: false, content: [el("span", { class: "shape", "aria-hidden": "true", text: "✗" }), el("span", { class: "option-text", text: t("false") })] },
    ];
  }
  return ordered(question.options, state.permutations[question.index]).map(({ option }, position) => ({
    value: option.id,
    content: optionContent(option, position),
  }));
}

function drawOptions() {
  const question = state.question;
  const area = $("[data-answer-area]");
  area.replaceChildren();
  area.dataset.type = question.type;
  const list = el("div", {
    class: "options" + (question.type === "true_false" ? " options-two" : ""),
    role: "group",
    "aria-labelledby": "live-stem",
  });
  const locked = Boolean(state.answer);
  choices(question).forEach(({ value, content }, position) => {
    list.append(
      el(
        "button",
        {
          type: "button",
          class: "option shape-" + (position % SHAPES.length),
          "data-option": String(value),
          "aria-pressed": state.answer && state.answer.choice === value ? "true" : "false",
          disabled: locked,
          onclick: () => submit(value),
        },
        ...content,
      ),
    );
  });
  area.append(list);
}

function submit(choice) {
  if (state.answer || !state.question) {
    return;
  }
  state.answer = { question: state.question.index, answer_id: randomId(), choice, state: "sending" };
  drawOptions();
  drawAnswerStatus();
  send();
}

function send() {
  const answer = state.answer;
  if (!answer || answer.state !== "sending") {
    return;
  }
  client.send({ type: "answer", answer_id: answer.answer_id, question: answer.question, choice: answer.choice });
  // Resend with the same answer_id until it is acked (a reconnect may have lost it).
  setTimeout(() => {
    if (state.answer === answer && answer.state === "sending") {
      send();
    }
  }, 2000);
}

/** `error` `retry`: the server stored nothing of the message; send it again. */
function onRetry(detail) {
  const later = (send) => retryAfter(0, send);
  if (detail === "answer") {
    retryAnswer();
  } else if (detail === "snapshot") {
    later(() => client.requestSnapshot());
  } else if (detail === "pk_find" && state.searching) {
    later(() => state.searching && client.send({ type: "pk_find" }));
  } else if (detail === "pk_resume" && state.token) {
    later(() => state.token && client.send({ type: "pk_resume", token: state.token }));
  }
}

/** The answer in flight again, the same answer_id (stored at most once), after a jittered
 * backoff, a bounded number of times; meanwhile the status says it is being sent again. */
function retryAnswer() {
  const answer = state.answer;
  if (!answer || answer.state !== "sending") {
    return;
  }
  const resend = () => {
    if (state.answer === answer && answer.state === "sending") {
      client.send({ type: "answer", answer_id: answer.answer_id, question: answer.question, choice: answer.choice });
    }
  };
  if (!answerRetried(answer, resend)) {
    answerFailed();
    return;
  }
  drawAnswerStatus();
}

/** The server could not store the answer, again and again: nothing is stored, so the
 * player may answer anew while the question is open. */
function answerFailed() {
  state.answer = null;
  const open = Boolean(state.question) && !state.reveal && countdown.remaining() > 0;
  if (open) {
    drawOptions();
  }
  const node = $("[data-answer-status]");
  node.classList.remove("is-ok");
  node.classList.add("is-error");
  node.textContent = t(open ? "answer_failed" : "answer_not_saved");
  show(node, true);
  announcer.say(node.textContent);
}

function answerReply(frame) {
  const answer = state.answer;
  if (!answer || answer.answer_id !== frame.answer_id) {
    return;
  }
  answer.state = frame.type === "ack" ? "received" : "rejected";
  answer.reason = frame.reason;
  drawAnswerStatus();
}

function drawAnswerStatus() {
  const node = $("[data-answer-status]");
  const answer = state.answer;
  node.classList.remove("is-ok", "is-error");
  if (!answer) {
    show(node, false);
    return;
  }
  if (answer.state === "sending") {
    node.textContent = t(answer.retries ? "answer_retrying" : "answer_sending");
  } else if (answer.state === "received") {
    node.textContent = t("answer_received");
    node.classList.add("is-ok");
  } else {
    const key = "reject_" + answer.reason;
    node.textContent = t(key) !== key ? t(key) : t("reject_other");
    node.classList.add("is-error");
  }
  show(node, true);
}

function drawOpponentStatus() {
  const node = $("[data-opponent-status]");
  node.textContent = state.opponentAnswered ? t("pk_opponent_answered") : "";
  show(node, state.opponentAnswered);
}

function drawReveal(fresh) {
  countdown.stop(false);
  setView("reveal");
  drawScore();
  const me = mine(state.players);
  const them = theirs(state.players);
  const banner = $("[data-result]");
  banner.classList.remove("is-right", "is-wrong", "is-none");
  let headline;
  if (me.correct === true) {
    banner.classList.add("is-right");
    headline = "✓ " + t("correct");
  } else if (me.correct === false) {
    banner.classList.add("is-wrong");
    headline = "✗ " + t("wrong");
  } else {
    banner.classList.add("is-none");
    headline = t("no_answer");
  }
  $("[data-result-headline]").textContent = headline;
  $("[data-gained]").textContent = t("gained", { points: me.gained || 0 });
  $("[data-opponent-result]").textContent =
    them.correct === true ? t("pk_opponent_right") : them.correct === false ? t("pk_opponent_wrong") : t("pk_opponent_none");
  drawKey();
  const explanation = state.reveal.explanation;
  $("[data-explanation-text]").innerHTML = explanation || "";
  show($("[data-explanation]"), Boolean(explanation));
  const last = state.question && state.question.index + 1 >= state.permutations.length;
  every(() => {
    $("[data-next]").textContent = state.nextAt
      ? t(last ? "pk_result_in" : "pk_next_in", { s: seconds(state.nextAt) })
      : "";
  });
  if (fresh) {
    announcer.say(headline + " " + $("[data-opponent-result]").textContent);
  }
}

function drawKey() {
  const box = $("[data-key]");
  box.replaceChildren();
  const question = state.question;
  const key = state.reveal && state.reveal.key;
  if (!question || !key) {
    return;
  }
  box.append(el("h3", { class: "key-title", text: t("right_answer") }));
  if (question.type !== "single") {
    box.append(el("p", { class: "key-text", text: keyText(question, key, t) }));
    return;
  }
  const right = keyOptionIds(key);
  const chosen = state.answer ? state.answer.choice : null;
  const list = el("ul", { class: "key-options" });
  ordered(question.options, state.permutations[question.index]).forEach(({ option }, position) => {
    const isRight = right.includes(option.id);
    list.append(
      keyOptionItem(option, position, {
        right: isRight,
        mine: chosen === option.id,
        rightLabel: t("right_answer"),
        mineLabel: t("your_answer"),
      }),
    );
  });
  box.append(list);
}

function drawFinished(winner) {
  clearInterval(tick);
  countdown.stop(false);
  setView("finished");
  drawScore();
  const me = mine(state.players);
  const them = theirs(state.players);
  const text = winner === null ? t("pk_draw") : winner === state.you.seat ? t("pk_win") : t("pk_lose");
  const node = $("[data-final]");
  node.textContent = text;
  root.dataset.outcome = winner === null ? "draw" : winner === state.you.seat ? "win" : "lose";
  $("[data-final-score]").textContent = t("pk_score_line", {
    you: state.you.nickname,
    mine: me.points,
    theirs: them.points,
    opponent: state.opponent.nickname,
  });
  state.token = null;
  announcer.say(text);
}

const findButton = $("[data-find]");
if (findButton) {
  findButton.addEventListener("click", find);
}
$("[data-again]").addEventListener("click", () => {
  state.question = null;
  state.answer = null;
  state.players = [];
  show($("[data-score]"), false);
  find();
});
$("[data-cancel]").addEventListener("click", () => {
  state.searching = false;
  client.send({ type: "pk_cancel" });
});
setView("start");
client.start();
