// The projector screen of a live round: read-only. It shows the join QR and PIN in the
// lobby, the question with its countdown, the answer distribution after the reveal and
// an animated leaderboard. Options are listed without letters: every phone has its own
// order, so letters here would not match what the players see.

import {
  TeamBook,
  drawDistribution,
  drawLeaderboard,
  el,
  keyOptionIds,
  keyText,
  livePage,
  show,
  turnText,
  valueText,
} from "./ui.js";

const page = livePage();
const { config, t, root, $, views, announcer } = page;

const finals = config.kind === "finals";

const state = {
  status: "lobby",
  pausedFrom: null,
  question: null,
  questionIndex: -1,
  total: 0,
  players: 0,
  names: new Map(), // player id -> {nickname, team}
  leaderboard: [],
  reveal: null,
  buzz: null, // {question, team, received_at}: who leads the current buzzer question
  tie: null, // {question, teams: [{team, received_us}], window_us}: a buzzer tie (平局)
  stakes: [], // [{question, team, stake}]
};

const teams = new TeamBook({
  url: config.playsAsTeams ? config.teamsUrl : "",
  teams: config.teams,
  onChange: () => {
    drawPlayers();
    drawTurn();
    drawStakeNote();
  },
});

const { client, countdown } = page.round({
  hello: () => ({ type: "screen", key: config.key }),
  onFrame: (frame) => onFrame(frame),
});

function setView(name) {
  for (const [key, node] of Object.entries(views)) {
    if (key !== "paused") {
      show(node, key === name);
    }
  }
  root.dataset.phase = name;
}

function onFrame(frame) {
  switch (frame.type) {
    case "snapshot":
      applySnapshot(frame);
      break;
    case "player_joined":
      state.players += 1;
      state.names.set(frame.player.id, { nickname: frame.player.nickname, team: frame.player.team });
      drawPlayers();
      break;
    case "player_left":
      state.players = Math.max(0, state.players - 1);
      state.names.delete(frame.player);
      drawPlayers();
      break;
    case "answer_count":
      if (state.question && frame.question === state.question.index) {
        $("[data-answers]").textContent = String(frame.answers);
      }
      break;
    case "question_opened":
      state.status = "question_open";
      state.questionIndex = frame.question_index;
      state.buzz = null;
      state.tie = null;
      drawQuestion(frame.question, true);
      drawStakeNote();
      break;
    case "buzzed":
      state.buzz = {
        question: frame.question,
        team: frame.team,
        received_at: frame.received_at,
        awarded: Boolean(frame.awarded),
      };
      if (!frame.awarded) {
        state.tie = null; // a buzz leads alone now
      }
      drawTurn();
      if (state.buzz.question === state.questionIndex) {
        announcer.say($("[data-buzz]").textContent);
      }
      break;
    case "buzz_tie":
      state.tie = { question: frame.question, teams: frame.teams, window_us: frame.window_us };
      state.buzz = null; // nobody answers until the host awards the tie
      drawTurn();
      if (state.tie.question === state.questionIndex) {
        announcer.say($("[data-buzz]").textContent);
      }
      break;
    case "staked":
      state.stakes = state.stakes.filter(
        (row) => !(row.question === frame.question && row.team === frame.team),
      );
      state.stakes.push({ question: frame.question, team: frame.team, stake: frame.stake });
      drawTurn();
      drawStakeNote();
      announcer.say(
        t("staked", { team: teams.name(frame.team) || "?", stake: frame.stake, n: frame.question + 1 }),
      );
      break;
    case "question_closed":
      state.status = "question_closed";
      closeQuestion();
      break;
    case "revealed":
      state.status = "revealed";
      state.reveal = frame.reveal;
      state.leaderboard = frame.leaderboard || [];
      drawReveal();
      drawStakeNote();
      break;
    case "leaderboard":
    case "finished":
      state.status = frame.type;
      state.leaderboard = frame.leaderboard || [];
      drawBoard(frame.type === "finished");
      drawStakeNote();
      break;
    case "question_voided":
      state.leaderboard = frame.leaderboard || state.leaderboard;
      announcer.say(t("voided", { n: frame.question_index + 1 }));
      if (state.status === "leaderboard" || state.status === "finished") {
        drawBoard(state.status === "finished");
      }
      break;
    case "paused":
      state.pausedFrom = frame.paused_from;
      state.status = "paused";
      show(views.paused, true);
      if (typeof frame.remaining_ms === "number") {
        countdown.freeze(frame.remaining_ms);
      }
      announcer.say(t("paused"));
      break;
    case "resumed":
      show(views.paused, false);
      state.status = frame.status;
      if (frame.status === "question_open") {
        countdown.run(frame.opened_at, frame.closes_at);
      }
      break;
    case "aborted":
      state.status = "aborted";
      countdown.stop(false);
      $("[data-ended-text]").textContent = t("aborted");
      setView("ended");
      client.stop();
      break;
    case "error":
      if (frame.code === "forbidden" || frame.code === "no_round") {
        client.stop();
        $("[data-ended-text]").textContent = t("error_other");
        setView("ended");
      }
      break;
    default:
      break;
  }
}

function applySnapshot(frame) {
  state.status = frame.status;
  state.pausedFrom = frame.paused_from || null;
  state.questionIndex = frame.question_index;
  if (frame.teams) {
    teams.update(frame.teams);
  }
  if (finals) {
    state.buzz = frame.buzz ? { question: frame.question_index, ...frame.buzz } : null;
    state.tie = frame.buzz_tie ? { question: frame.question_index, ...frame.buzz_tie } : null;
    state.stakes = frame.stakes || [];
  }
  state.total = frame.total_questions;
  state.players = frame.players;
  state.leaderboard = frame.leaderboard || [];
  state.reveal = frame.reveal || null;
  drawPlayers();
  show($("[data-pin-small]"), !frame.locked);
  const visible = frame.status === "paused" ? frame.paused_from : frame.status;
  if (visible === "lobby") {
    setView("lobby");
  } else if (visible === "question_open" || visible === "question_closed") {
    drawQuestion(frame.question, false);
    if (typeof frame.answers === "number") {
      $("[data-answers]").textContent = String(frame.answers);
    }
    if (visible === "question_closed") {
      closeQuestion();
    }
  } else if (visible === "revealed") {
    state.question = frame.question;
    drawReveal();
  } else if (visible === "leaderboard" || visible === "finished") {
    state.question = frame.question || null;
    drawBoard(visible === "finished");
  } else if (visible === "aborted") {
    $("[data-ended-text]").textContent = t("aborted");
    setView("ended");
  }
  if (frame.status === "paused") {
    show(views.paused, true);
    if (typeof frame.remaining_ms === "number") {
      countdown.freeze(frame.remaining_ms, frame.question.closes_at - frame.question.opens_at);
    }
  } else {
    show(views.paused, false);
  }
  drawStakeNote();
}

function drawPlayers() {
  for (const node of root.querySelectorAll("[data-player-count]")) {
    node.textContent = String(state.players);
  }
  const list = $("[data-names]");
  const names = Array.from(state.names.values()).slice(-40);
  list.replaceChildren(
    ...names.map((player) => {
      const team = player.team !== null && player.team !== undefined ? teams.name(player.team) : "";
      return el(
        "li",
        {},
        player.nickname,
        team ? el("span", { class: "screen-name-team", text: " · " + team }) : null,
      );
    }),
  );
  const teamList = $("[data-teams]");
  if (teamList) {
    teamList.replaceChildren(
      ...teams.list().map((team) =>
        el(
          "li",
          { "data-team": String(team.id) },
          el("strong", { text: team.name }),
          team.school ? el("span", { class: "screen-team-school", text: " " + team.school }) : null,
        ),
      ),
    );
  }
}

/** The finals: who answers this question, and who leads the buzz. */
function drawTurn() {
  const banner = $("[data-turn]");
  const question = state.question;
  if (!banner || !question) {
    return;
  }
  const parts = [turnText(question, (id) => teams.name(id), t)];
  if (question.turn === "risk") {
    const row = state.stakes.find((s) => s.question === question.index && s.team === question.team);
    parts.push(row ? t("stake_is", { stake: row.stake }) : t("stake_none"));
  } else {
    parts.push(valueText(question, t));
  }
  banner.textContent = parts.filter(Boolean).join(" · ");
  banner.dataset.turn = question.turn || "";
  show(banner, Boolean(question.turn));
  const buzzNode = $("[data-buzz]");
  const lead = state.buzz && state.buzz.question === question.index ? state.buzz : null;
  const tie = state.tie && state.tie.question === question.index ? state.tie : null;
  if (question.turn === "buzzer") {
    buzzNode.textContent = tie
      ? tieText(tie, lead)
      : lead
        ? t("buzz_led_by", { team: teams.name(lead.team) || "?" })
        : t("buzz_nobody");
    buzzNode.classList.toggle("is-lead", Boolean(lead));
    buzzNode.classList.toggle("is-tie", Boolean(tie));
    show(buzzNode, true);
  } else {
    show(buzzNode, false);
  }
}

/** 平局: the tied teams with their times after the first (ms), and who answers once the
 * host has settled it. */
function tieText(tie, lead) {
  const first = tie.teams[0].received_us;
  const name = (id) => teams.name(id) || "?";
  const times = tie.teams
    .map((row) => t("buzz_tie_time", { team: name(row.team), ms: ((row.received_us - first) / 1000).toFixed(3) }))
    .join(" · ");
  const head = lead
    ? t("buzz_awarded", { team: name(lead.team) })
    : t("buzz_tie", { teams: tie.teams.map((row) => name(row.team)).join(" · "), ms: tie.window_us / 1000 });
  return head + " " + times;
}

/** Between questions: the stake a team chose for the coming risk question. */
function drawStakeNote() {
  const node = $("[data-stake-note]");
  if (!node) {
    return;
  }
  const visible = state.status === "paused" ? state.pausedFrom : state.status;
  const next = visible === "lobby" ? 0 : state.questionIndex + 1;
  const between = ["lobby", "revealed", "leaderboard"].includes(visible);
  const rows = between ? state.stakes.filter((row) => row.question === next) : [];
  node.textContent = rows
    .map((row) => t("staked", { team: teams.name(row.team) || "?", stake: row.stake, n: row.question + 1 }))
    .join(" ");
  show(node, rows.length > 0);
}

function drawMeta(question) {
  $("[data-question-meta]").textContent = question
    ? t("question_of", { n: question.index + 1, total: state.total })
    : "";
}

function drawQuestion(question, fresh) {
  state.question = question;
  setView("question");
  drawMeta(question);
  $("[data-stem]").innerHTML = question.stem;
  const options = $("[data-options]");
  options.replaceChildren(
    ...question.options.map((option) => el("li", { class: "screen-option", html: option.text })),
  );
  if (question.type === "true_false") {
    options.replaceChildren(
      el("li", { class: "screen-option", text: "✓ " + t("true") }),
      el("li", { class: "screen-option", text: "✗ " + t("false") }),
    );
  }
  show(options, options.children.length > 0);
  $("[data-answers]").textContent = "0";
  show($("[data-closed]"), false);
  countdown.run(question.opens_at, question.closes_at);
  drawTurn();
  if (fresh) {
    const turn = $("[data-turn]");
    announcer.say(
      t("question_of", { n: question.index + 1, total: state.total }) +
        ". " +
        (turn && !turn.hidden ? turn.textContent + ". " : "") +
        $("[data-stem]").textContent.trim(),
    );
  }
}

function closeQuestion() {
  countdown.stop(true);
  show($("[data-closed]"), true);
  announcer.say(t("time_up"));
}

function drawReveal() {
  countdown.stop(false);
  const question = state.question;
  const reveal = state.reveal;
  setView("reveal");
  if (!question || !reveal) {
    return;
  }
  drawMeta(question);
  $("[data-reveal-stem]").innerHTML = question.stem;
  const right = keyOptionIds(reveal.key);
  const chart = $("[data-chart]");
  let entries = [];
  if (question.type === "single" || question.type === "multiple" || question.type === "ordering") {
    const ordering = question.type === "ordering";
    entries = question.options.map((option) => ({
      id: option.id,
      html: option.text,
      // For an ordering, every option belongs to the answer: mark none, list the order.
      right: !ordering && right.includes(option.id),
    }));
  } else if (question.type === "true_false") {
    entries = [
      { id: "true", label: t("true"), right: reveal.key.value === true },
      { id: "false", label: t("false"), right: reveal.key.value === false },
    ];
  }
  if (entries.length && question.type !== "ordering") {
    drawDistribution(chart, entries, reveal.distribution || {}, t);
  } else {
    chart.replaceChildren(el("p", { class: "muted", text: t("no_distribution") }));
  }
  let keyLine = keyText(question, reveal.key, t);
  if (question.type === "ordering") {
    const byId = new Map(question.options.map((o) => [o.id, o]));
    const list = el("ol", { class: "key-order" });
    for (const id of right) {
      if (byId.has(id)) {
        list.append(el("li", { html: byId.get(id).text }));
      }
    }
    chart.append(el("h3", { text: t("right_answer") }), list);
    keyLine = "";
  }
  $("[data-key-text]").textContent = keyLine;
  show($("[data-key-text]"), Boolean(keyLine));
  $("[data-explanation-text]").innerHTML = reveal.explanation || "";
  show($("[data-explanation]"), Boolean(reveal.explanation || keyLine));
  announcer.say(t("status_revealed"));
}

function drawBoard(finished) {
  countdown.stop(false);
  setView("leaderboard");
  $("[data-board-title]").textContent = finished ? t("final_results") : t("leaderboard");
  root.dataset.phase = finished ? "finished" : "leaderboard";
  drawLeaderboard($("[data-board]"), state.leaderboard, { t, rowHeight: 2.3 });
  announcer.say(finished ? t("finished") : t("leaderboard"));
}

client.start();
