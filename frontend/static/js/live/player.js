// The player's page of a live round: join, answer against the clock, see the result.
//
// The server decides everything (rules in docs/architecture.md): this page never knows the key
// before the reveal and never judges an answer. It shows the options in the player's
// own order (snapshot.permutations), sends an answer with an id of its own, and waits
// for the server's ack or reject. The resume token is kept per PIN in localStorage, so
// a reload or a lost network comes back as the same player with the same score.

import { answerRetried, randomId, retryAfter } from "./client.js";
import {
  SHAPES,
  TeamBook,
  drawLeaderboard,
  el,
  keyOptionIds,
  keyOptionItem,
  keyText,
  livePage,
  optionContent,
  ordered,
  show,
  turnText,
  valueText,
} from "./ui.js";

const page = livePage();
const { config, t, root, $, views, announcer, drawConnection } = page;

// Team rounds (a mean of the members, or one device per team) and the stage finals.
const teamRound = Boolean(config.playsAsTeams);
const finals = config.kind === "finals";
const captainsAnswer = Boolean(config.captainsAnswer);
const rosterJoin = config.joinMode === "roster";
const LOBBY_POLL_MS = 8000;

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
  answer: store.get(".answer"), // {answer_id, question, choice, state, reason, retries}
  result: store.get(".result"), // {index, correct, gained}
  you: null,
  reveal: null,
  leaderboard: [],
  draft: [], // choices picked so far (multiple, ordering)
  joined: false,
  questionIndex: -1,
  chosenTeam: null, // the team picked on the join form
  captain: null, // this device answers for its team (snapshot you.captain)
  buzz: null, // {question, team, received_at}: who leads the current buzzer question
  myBuzz: null, // {question, state: "sending" | "ack" | "rejected", reason}
  stakes: [], // [{question, team, stake}] chosen so far (snapshot, staked)
  myStake: null, // {question, stake, state: "sending" | "ack" | "rejected", reason}
  turnsFrozen: false, // the turns were read after the start (they cannot change then)
};

const teams = new TeamBook({
  url: teamRound ? config.teamsUrl : "",
  teams: config.teams,
  onChange: () => redrawTeams(),
});
// For tests and the console: what this page knows (it knows no key before the reveal).
window.sciarenaPlayer = { state, teams };

function myTeam() {
  return state.me && state.me.team !== undefined && state.me.team !== null ? state.me.team : null;
}

function setMyTeam(id) {
  if (!state.me || id === null || id === undefined || state.me.team === id) {
    return;
  }
  state.me.team = id;
  store.set("", state.me);
  redrawTeams();
}

/** The first message of each connection: resume as this player, or join. */
function hello() {
  if (state.me && state.me.token) {
    return { type: "resume", token: state.me.token };
  }
  if (rosterJoin) {
    return { type: "join", roster_token: state.nickname || "" };
  }
  const message = { type: "join", nickname: state.nickname || "" };
  if (teamRound && state.chosenTeam !== null) {
    message.team = state.chosenTeam;
  }
  return message;
}

const { client, countdown } = page.round({
  hello,
  onFrame: (frame) => onFrame(frame),
  onZero: () => {
    if (state.status === "question_open") {
      setAnswerStatus(state.answer ? null : t("time_up"));
      lockAnswers(true);
      applyTurn();
    }
  },
});

// --- join ---------------------------------------------------------------------------------

const joinForm = $("[data-join-form]");
const nicknameInput = $("[data-nickname]");
const joinError = $("[data-join-error]");

const teamChoice = $("[data-team-choice]");

function showJoinError(text, field) {
  joinError.textContent = text || "";
  show(joinError, Boolean(text));
  const target = field || nicknameInput;
  nicknameInput.removeAttribute("aria-invalid");
  if (teamChoice) {
    teamChoice.removeAttribute("aria-invalid");
  }
  if (text) {
    target.setAttribute("aria-invalid", "true");
    const focusable = target.matches("input") ? target : target.querySelector("input");
    if (focusable) {
      focusable.focus();
    }
  }
}

/** The teams to choose from on the join form (team rounds without a roster). */
function drawJoinTeams() {
  if (!teamChoice) {
    return;
  }
  const box = $("[data-team-options]");
  const picked = state.chosenTeam;
  const list = teams.list();
  box.replaceChildren(
    ...list.map((team) =>
      el(
        "label",
        { class: "team-option" },
        el("input", {
          type: "radio",
          name: "team",
          value: String(team.id),
          checked: picked === team.id,
          onchange: () => {
            state.chosenTeam = team.id;
          },
        }),
        el("span", { class: "team-option-name", text: team.name }),
        team.school ? el("span", { class: "team-option-school", text: team.school }) : null,
        typeof team.members === "number"
          ? el("span", {
              class: "team-option-count",
              text: t(team.members === 1 ? "team_members_one" : "team_members", { n: team.members }),
            })
          : null,
      ),
    ),
  );
  show($("[data-no-teams]"), list.length === 0);
}

let lobbyPoll = null;

/** While the join form waits for the host's teams, or a captain waits in the lobby for
 * the turns (a risk question first?), ask again now and then. */
function pollTeams() {
  clearTimeout(lobbyPoll);
  const joining = teamChoice && root.dataset.phase === "join" && teams.list().length === 0;
  const staking = finals && state.captain && state.status === "lobby";
  if (!joining && !staking) {
    return;
  }
  lobbyPoll = setTimeout(() => {
    teams.refresh().finally(pollTeams);
  }, LOBBY_POLL_MS);
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  state.nickname = nicknameInput.value.trim();
  if (!state.nickname && (!config.signedIn || config.joinMode === "roster")) {
    showJoinError(t(config.joinMode === "roster" ? "error_roster_token" : "error_nickname"));
    return;
  }
  if (teamChoice) {
    const checked = teamChoice.querySelector("input[name=team]:checked");
    state.chosenTeam = checked ? Number(checked.value) : null;
    if (state.chosenTeam === null) {
      showJoinError(t("error_team"), teamChoice);
      return;
    }
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
  if (frame.code === "team") {
    teams.refresh(); // the list may have changed since the page was drawn
  }
  showJoinError(frame.code === "unknown_player" ? "" : text, frame.code === "team" ? teamChoice : null);
}

// --- frames --------------------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "welcome":
      state.joined = true;
      if (frame.token) {
        const same = state.me && state.me.token === frame.token;
        const team = same ? myTeam() : teamRound && !rosterJoin ? state.chosenTeam : null;
        state.me = {
          token: frame.token,
          player: frame.player.id,
          nickname: frame.player.nickname,
          team,
        };
        store.set("", state.me);
        if (teamRound && rosterJoin && team === null && state.nickname) {
          // A roster slip names the team: ask which (the socket says so only later).
          teams.refresh({ roster: state.nickname }).then((data) => {
            if (data && data.mine) {
              setMyTeam(data.mine.id);
            }
          });
        }
      }
      $("[data-me]").textContent = state.me ? state.me.nickname : "";
      redrawTeams();
      break;
    case "snapshot":
      applySnapshot(frame);
      break;
    case "question_opened":
      state.status = "question_open";
      state.pausedFrom = null;
      state.questionIndex = frame.question_index;
      state.buzz = null;
      openQuestion(frame.question, true);
      drawStake();
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
      needTurns();
      drawStake();
      break;
    case "leaderboard":
      state.status = "leaderboard";
      takeYou(frame.you, null);
      state.leaderboard = frame.leaderboard || [];
      drawBoard("leaderboard");
      needTurns();
      drawStake();
      break;
    case "finished":
      state.status = "finished";
      takeYou(frame.you, null);
      state.leaderboard = frame.leaderboard || [];
      drawBoard("finished");
      drawStake();
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
      drawStake();
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
        applyTurn();
      }
      drawStake();
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
    case "replaced":
      // The join slip was used on another device, which holds the seat now: this one
      // stops for good (the server closes it with 4002), and its token no longer works.
      state.me = null;
      store.set("", null);
      ended(t("replaced"));
      client.stop();
      break;
    case "ack":
      onAck(frame);
      break;
    case "reject":
      onReject(frame);
      break;
    case "buzzed":
      onBuzzed(frame);
      break;
    case "buzz_ack":
    case "buzz_reject":
      onBuzzReply(frame);
      break;
    case "staked":
      onStaked(frame);
      break;
    case "stake_ack":
    case "stake_reject":
      onStakeReply(frame);
      break;
    case "error":
      if (frame.code === "retry") {
        onRetry(frame.detail); // before anything else: a retry refuses nothing
      } else if (!state.joined || frame.code === "unknown_player") {
        joinRefused(frame);
      } else if (frame.code === "rate_limited" && state.answer && state.answer.state === "sending") {
        setTimeout(sendAnswer, 1000);
      } else if (frame.code === "rate_limited") {
        setTimeout(resendPending, 1000);
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
  if (you.team) {
    setMyTeam(you.team.id);
  }
  if (revealedIndex !== null && revealedIndex !== undefined) {
    takeResult(you, revealedIndex);
  }
  drawTotal();
}

/** The result on the revealed question `index`, as the server says: `correct` when this
 * player (in the finals, the team) answered it; no `correct` when there was no answer,
 * which is not a wrong answer. In the finals a team may gain or lose points without an
 * answer of its own (a risk question not answered), so `gained` alone is a result too. */
function takeResult(you, index) {
  state.result = {
    index,
    correct: "correct" in you ? you.correct : null,
    gained: you.gained || 0,
  };
  store.set(".result", state.result);
}

function applySnapshot(frame) {
  state.status = frame.status;
  state.totalQuestions = frame.total_questions;
  state.pausedFrom = frame.paused_from || null;
  state.permutations = frame.permutations || [];
  state.leaderboard = frame.leaderboard || [];
  state.reveal = frame.reveal || null;
  state.questionIndex = frame.question_index;
  if (frame.teams) {
    teams.update(frame.teams);
  }
  if (frame.you) {
    state.you = frame.you;
    state.total = frame.you.points;
    if (frame.reveal) {
      takeResult(frame.you, frame.reveal.index); // a reload or another device: the server's word
    }
    if ("captain" in frame.you) {
      state.captain = Boolean(frame.you.captain);
    }
    if (frame.you.team) {
      setMyTeam(frame.you.team.id);
    }
  }
  if (finals) {
    state.buzz = frame.buzz ? { question: frame.question_index, ...frame.buzz } : null;
    state.stakes = frame.stakes || [];
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
    drawLobby();
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
  resendPending();
  needTurns();
  drawStake();
  pollTeams();
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
  drawTeamName();
  const node = $("[data-total]");
  if (!state.me) {
    node.textContent = "";
  } else if (finals) {
    // In the finals every score is the team's.
    const points = teamPoints();
    node.textContent = points === null ? "" : t("team_points", { points });
  } else {
    node.textContent = t("total", { points: state.total || 0 });
  }
}

/** The team's points if known: the server's word, or the finals' start before any reveal. */
function teamPoints() {
  const you = state.you || {};
  if (you.team && typeof you.team.points === "number") {
    return you.team.points;
  }
  if (finals && state.questionIndex < 0) {
    return config.startScore;
  }
  return null;
}

/** Everything that shows the player's team: header, lobby, join form, turns. */
function redrawTeams() {
  drawJoinTeams();
  drawTotal();
  if (root.dataset.phase === "lobby") {
    drawLobby();
  }
  if (root.dataset.phase === "question" && state.question) {
    applyTurn();
  }
  drawStake();
}

/** The header: the team's name, and a badge on the captain's phone. */
function drawTeamName() {
  const node = $("[data-team-name]");
  if (!node) {
    return;
  }
  const name = state.me && myTeam() !== null ? teams.name(myTeam()) : "";
  node.replaceChildren(name);
  if (name && captainsAnswer && state.captain) {
    node.append(" ", el("span", { class: "captain-badge", text: t("captain") }));
  }
  show(node, Boolean(name));
}

function drawLobby() {
  const banner = $("[data-lobby-team]");
  if (!banner) {
    return;
  }
  const name = myTeam() !== null ? teams.name(myTeam()) : "";
  banner.textContent = name ? t("team_of", { team: name }) : "";
  show(banner, Boolean(name));
  const note = $("[data-captain-note]");
  const known = captainsAnswer && state.captain !== null;
  note.textContent = known ? t(state.captain ? "you_captain" : "you_member") : "";
  show(note, known);
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
  applyTurn();
  if (fresh) {
    const stemText = $("[data-stem]").textContent.trim();
    const turn = $("[data-turn]");
    const note = $("[data-wait-note]");
    announcer.say(
      t("question_of", { n: question.index + 1, total: state.totalQuestions || "?" }) +
        ". " +
        (turn && !turn.hidden ? turn.textContent + ". " : "") +
        stemText +
        (note && !note.hidden ? " " + note.textContent : ""),
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

// --- teams: who answers, the buzz, the stake ------------------------------------------------

/** The buzz that leads the current question, if it is a buzzer question. */
function currentBuzz(question) {
  return state.buzz && question && state.buzz.question === question.index ? state.buzz : null;
}

/**
 * Whether this device answers the question: "" if it does, else why not: "captain"
 * (the team's captain answers), "other" (another team's compulsory or risk question),
 * "buzz" (a buzzer question nobody leads yet), "buzz_other" (another team leads).
 */
function answerGate(question) {
  if (!teamRound || !question) {
    return "";
  }
  if (captainsAnswer && state.captain === false) {
    return "captain";
  }
  if (!finals || !question.turn) {
    return "";
  }
  const mine = myTeam();
  if (question.turn === "compulsory" || question.turn === "risk") {
    return question.team === mine ? "" : "other";
  }
  if (question.turn === "buzzer") {
    const lead = currentBuzz(question);
    if (!lead) {
      return "buzz";
    }
    return lead.team === mine ? "" : "buzz_other";
  }
  return "";
}

function stakeOf(index, team) {
  const found = state.stakes.find((row) => row.question === index && row.team === team);
  return found ? found.stake : null;
}

/** Show or hide the answer buttons, the buzz button and the notes for this question. */
function applyTurn() {
  const question = state.question;
  if (!teamRound || !question) {
    return;
  }
  const gate = answerGate(question);
  const answered = Boolean(state.answer);
  show($("[data-answer-area]"), gate === "" || answered);
  const lead = currentBuzz(question);
  let note = "";
  if (!answered && gate === "captain") {
    note = t("captain_answers");
  } else if (!answered && gate === "other") {
    note = t("other_turn", { team: teams.name(question.team) || "?" });
  }
  const waitNote = $("[data-wait-note]");
  waitNote.textContent = note;
  show(waitNote, Boolean(note));
  if (!finals) {
    return;
  }
  const banner = $("[data-turn]");
  const parts = [turnText(question, (id) => teams.name(id), t)];
  if (question.turn === "risk") {
    const stake = stakeOf(question.index, question.team);
    parts.push(stake !== null ? t("stake_is", { stake }) : t("stake_none"));
  } else {
    parts.push(valueText(question, t));
  }
  banner.textContent = parts.filter(Boolean).join(" · ");
  banner.dataset.turn = question.turn || "";
  show(banner, Boolean(question.turn));
  // The buzz: captains press while the question is open and nobody leads.
  const buzzer = question.turn === "buzzer";
  const mine = state.myBuzz && state.myBuzz.question === question.index ? state.myBuzz : null;
  const canBuzz = buzzer && state.captain === true && !lead && state.status === "question_open";
  show($("[data-buzz-area]"), canBuzz && answersOpen());
  $("[data-buzz]").disabled = !answersOpen() || Boolean(mine && mine.state === "sending");
  let status = "";
  if (buzzer && lead) {
    status = lead.team === myTeam() ? t("buzz_first") : t("buzz_led_by", { team: teams.name(lead.team) || "?" });
  } else if (buzzer && mine && mine.state === "sending") {
    status = t("buzz_sending");
  } else if (buzzer && mine && mine.state === "rejected") {
    const key = "buzz_reject_" + mine.reason;
    status = t(key) !== key ? t(key) : t("buzz_reject_other");
  } else if (buzzer && state.status === "question_open" && state.captain === false) {
    status = t("buzz_nobody");
  }
  const statusNode = $("[data-buzz-status]");
  statusNode.textContent = status;
  statusNode.classList.toggle("is-mine", Boolean(lead && lead.team === myTeam()));
  show(statusNode, Boolean(status));
  root.dataset.buzzState = buzzer ? (lead ? (lead.team === myTeam() ? "mine" : "other") : "open") : "";
}

function buzz() {
  const question = state.question;
  if (!question || !answersOpen() || currentBuzz(question)) {
    return;
  }
  state.myBuzz = { question: question.index, state: "sending" };
  client.send({ type: "buzz", question: question.index });
  applyTurn();
}

const buzzButton = $("[data-buzz]");
if (buzzButton) {
  buzzButton.addEventListener("click", buzz);
}

function onBuzzed(frame) {
  state.buzz = { question: frame.question, team: frame.team, received_at: frame.received_at };
  if (state.question && state.question.index === frame.question) {
    applyTurn();
    lockAnswers(!answersOpen() || Boolean(state.answer));
    announcer.say(
      frame.team === myTeam() ? t("buzz_first") : t("buzz_led_by", { team: teams.name(frame.team) || "?" }),
    );
  }
}

function onBuzzReply(frame) {
  if (frame.type === "buzz_ack") {
    state.myBuzz = { question: frame.question, state: "ack", first: frame.first };
    if (frame.first && !currentBuzz(state.question)) {
      state.buzz = { question: frame.question, team: myTeam(), received_at: frame.received_at };
    } else if (!frame.first && !currentBuzz(state.question)) {
      client.requestSnapshot(); // another team leads: the snapshot says which
    }
  } else {
    state.myBuzz = { question: frame.question, state: "rejected", reason: frame.reason };
  }
  if (state.question && state.question.index === frame.question) {
    applyTurn();
    lockAnswers(!answersOpen() || Boolean(state.answer));
  }
}

/** The risk question this captain stakes on now, if any: the next one, its team's. */
function stakeQuestion() {
  if (!finals || state.captain !== true || myTeam() === null) {
    return null;
  }
  const visible = state.status === "paused" ? state.pausedFrom : state.status;
  if (!["lobby", "revealed", "leaderboard"].includes(visible)) {
    return null;
  }
  const next = visible === "lobby" ? 0 : state.questionIndex + 1;
  const plan = teams.turn(next);
  if (!plan || plan.turn !== "risk" || plan.team !== myTeam()) {
    return null;
  }
  return next;
}

/** Captains need the turns to know when to stake: read them after the start (once,
 * they are fixed then) and now and then in the lobby (the host may still change them). */
function needTurns() {
  if (!finals || state.captain !== true) {
    return;
  }
  if (state.status !== "lobby" && state.status !== null) {
    if (!state.turnsFrozen) {
      state.turnsFrozen = true;
      teams.refresh();
    }
  } else if (!teams.turns.length) {
    teams.refresh();
  }
}

function drawStake() {
  const panel = $("[data-stake-panel]");
  if (!panel) {
    return;
  }
  const index = stakeQuestion();
  show(panel, index !== null);
  if (index === null) {
    return;
  }
  const chosen = stakeOf(index, myTeam());
  const mine = state.myStake && state.myStake.question === index ? state.myStake : null;
  for (const button of panel.querySelectorAll("[data-stake]")) {
    const value = Number(button.dataset.stake);
    const picked = chosen !== null ? chosen === value : Boolean(mine && mine.stake === value);
    button.setAttribute("aria-pressed", picked ? "true" : "false");
    button.disabled = chosen !== null || Boolean(mine && mine.state === "sending");
  }
  let status = "";
  const node = $("[data-stake-status]");
  node.classList.remove("is-ok", "is-bad");
  if (chosen !== null) {
    status = "✓ " + t("stake_done", { stake: chosen });
    node.classList.add("is-ok");
  } else if (mine && mine.state === "sending") {
    status = t("stake_sending");
  } else if (mine && mine.state === "rejected") {
    const key = "stake_reject_" + mine.reason;
    status = "✗ " + (t(key) !== key ? t(key) : t("stake_reject_other"));
    node.classList.add("is-bad");
  }
  node.textContent = status;
  show(node, Boolean(status));
  panel.dataset.question = String(index);
  panel.dataset.staked = chosen !== null ? String(chosen) : "";
}

function sendStake(stake) {
  const index = stakeQuestion();
  if (index === null || stakeOf(index, myTeam()) !== null) {
    return;
  }
  state.myStake = { question: index, stake, state: "sending" };
  client.send({ type: "stake", question: index, stake });
  drawStake();
}

for (const button of root.querySelectorAll("[data-stake]")) {
  button.addEventListener("click", () => sendStake(Number(button.dataset.stake)));
}

function onStaked(frame) {
  state.stakes = state.stakes.filter((row) => !(row.question === frame.question && row.team === frame.team));
  state.stakes.push({ question: frame.question, team: frame.team, stake: frame.stake });
  drawStake();
  if (state.question && state.question.index === frame.question) {
    applyTurn();
  }
  const text = t("staked", {
    team: teams.name(frame.team) || "?",
    stake: frame.stake,
    n: frame.question + 1,
  });
  if (frame.team !== myTeam() || state.captain !== true) {
    setNotice(text);
  }
  announcer.say(text);
}

function onStakeReply(frame) {
  if (frame.type === "stake_ack") {
    state.myStake = { question: frame.question, stake: frame.stake, state: "ack" };
    if (stakeOf(frame.question, myTeam()) === null && myTeam() !== null) {
      state.stakes.push({ question: frame.question, team: myTeam(), stake: frame.stake });
    }
    announcer.say(t("stake_done", { stake: frame.stake }));
  } else {
    const mine = state.myStake && state.myStake.question === frame.question ? state.myStake : {};
    state.myStake = { ...mine, question: frame.question, state: "rejected", reason: frame.reason };
  }
  drawStake();
}

/** After a reconnect: send again a buzz or a stake that got no reply (both are safe to
 * repeat: one buzz and one stake per team, a resend gets the same reply). */
function resendPending() {
  const question = state.question;
  if (state.myBuzz && state.myBuzz.state === "sending") {
    if (question && question.index === state.myBuzz.question && state.status === "question_open") {
      client.send({ type: "buzz", question: state.myBuzz.question });
    } else {
      state.myBuzz = null;
    }
  }
  if (state.myStake && state.myStake.state === "sending") {
    if (stakeQuestion() === state.myStake.question) {
      client.send({ type: "stake", question: state.myStake.question, stake: state.myStake.stake });
    } else {
      state.myStake = null;
    }
  }
}

function submit(choice) {
  if (state.answer || !answersOpen() || answerGate(state.question) !== "") {
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

/** `error` `retry`: the server stored nothing of the message; send it again. */
function onRetry(detail) {
  if (detail === "answer") {
    retryAnswer();
  } else if (detail === "buzz" || detail === "stake") {
    retryAfter(0, resendPending);
  } else if (detail === "snapshot") {
    retryAfter(0, () => client.requestSnapshot());
  } else if (detail === "join" || detail === "resume") {
    // The join or resume failed on the server's database: the same hello again (a
    // resume keeps its token: the seat is still this player's). Whether or not this
    // page was welcomed before: a resume after a reconnect is retried the same way,
    // or the socket would stay open with no role, answered pings keeping it alive.
    retryAfter(0, () => client.send(hello()));
  }
}

/** The answer in flight again, with the same answer_id (the server stores it at most
 * once), after a jittered backoff; a bounded number of times, and meanwhile the status
 * says it is being sent again. Then the player is told it was not saved. */
function retryAnswer() {
  const answer = state.answer;
  if (!answer || answer.state !== "sending") {
    return;
  }
  const id = answer.answer_id;
  const resend = () => {
    if (state.answer && state.answer.answer_id === id) {
      sendAnswer(); // only while it is still unacked
    }
  };
  if (!answerRetried(answer, resend)) {
    answerFailed();
    return;
  }
  store.set(".answer", answer);
  drawAnswerStatus();
}

function answerFailed() {
  clearAnswer();
  markChoice([]);
  const again = answersOpen() && answerGate(state.question) === "";
  if (again) {
    lockAnswers(false);
  }
  const text = again ? t("answer_failed") : t("answer_not_saved");
  const node = $("[data-answer-status]");
  node.classList.remove("is-ok", "is-wait");
  node.classList.add("is-bad");
  setAnswerStatus(text);
  announcer.say(text);
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
    setAnswerStatus(t(answer.retries ? "answer_retrying" : "answer_sending"));
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
    applyTurn();
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
  const gate = question && reveal && question.index === reveal.index ? answerGate(question) : "";
  let headline = "";
  if (result && result.correct === true) {
    banner.classList.add("is-right");
    headline = "✓ " + t("correct");
  } else if (result && result.correct === false) {
    banner.classList.add("is-wrong");
    headline = "✗ " + t("wrong");
  } else if (gate === "captain" && !finals) {
    banner.classList.add("is-none");
    headline = t("captain_answered");
  } else if (gate === "other" || gate === "buzz" || gate === "buzz_other") {
    banner.classList.add("is-none");
    headline = t("not_our_question");
  } else if (!answered) {
    // No answer stored: "no answer", never "wrong" (the server sends no `correct` then).
    banner.classList.add("is-none");
    headline = t("no_answer");
  }
  banner.dataset.result =
    result && result.correct !== null ? (result.correct ? "right" : "wrong") : "none";
  $("[data-result-headline]").textContent = headline;
  show($("[data-result-headline]"), Boolean(headline));
  const gained = $("[data-gained]");
  const points = result ? result.gained || 0 : 0;
  gained.textContent = result ? (points < 0 ? t("lost", { points: -points }) : t("gained", { points })) : "";
  show(gained, Boolean(result) && (result.correct !== null || points !== 0));
  const you = state.you || {};
  $("[data-result-total]").textContent = finals
    ? t("team_points", { points: you.points || 0 })
    : t("total", { points: you.points || 0 });
  $("[data-result-rank]").textContent = you.rank ? t("rank", { rank: you.rank }) : "";
  $("[data-result-streak]").textContent = you.streak ? t("streak", { streak: you.streak }) : "";
  const teamLine = $("[data-result-team]");
  if (teamLine) {
    const standing = !finals && you.team ? you.team : null;
    teamLine.textContent = standing
      ? t("team_standing", { team: standing.name, points: standing.points, rank: standing.rank })
      : "";
    show(teamLine, Boolean(standing));
  }
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
        keyOptionItem(option, position, {
          right: isRight,
          mine: chosen.includes(option.id),
          rightLabel: t("right_answer"),
          mineLabel: t("your_answer"),
        }),
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
  let highlight;
  if (teamRound) {
    highlight = myTeam() !== null ? "team-" + myTeam() : undefined;
  } else {
    highlight = state.me ? state.me.player : undefined;
  }
  drawLeaderboard(list, state.leaderboard, { highlight, t, rowHeight: 3.25 });
  const you = state.you || {};
  let summary;
  if (teamRound && you.team) {
    summary = t("team_rank_line", {
      team: you.team.name,
      rank: you.team.rank,
      points: you.team.points,
    });
    if (!finals) {
      summary += " " + t("total", { points: you.points || 0 });
    }
  } else {
    summary = you.rank
      ? t("your_rank", { rank: you.rank, points: you.points || 0 })
      : t("total", { points: you.points || 0 });
  }
  view.querySelector("[data-board-you]").textContent = summary;
  announcer.say((kind === "finished" ? t("finished") + " " : t("leaderboard") + ". ") + summary);
}

// --- start -----------------------------------------------------------------------------------

drawConnection("connecting");
drawJoinTeams();
if (state.me && state.me.token) {
  setView("connecting");
  client.start();
} else {
  setView("join");
  show($("[data-connection]"), false);
  if (config.nickname && !nicknameInput.value) {
    nicknameInput.value = config.nickname;
  }
  if (teamChoice) {
    teams.refresh(); // the page may have been open for a while
    pollTeams();
  }
}
