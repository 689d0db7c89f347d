// The host console of a live round. The server checks every command (only this
// round's host may send them) and says which ones apply now (snapshot.allowed): the
// console shows those buttons, and asks for a fresh snapshot after every change.
// Everything it shows comes over the socket: the host's snapshot lists the players
// (snapshot.player_list, with each one's team and captain flag; in a big round its first
// page, the rest following in player_list frames), player_joined and player_left keep
// the list between snapshots.

import { TeamBook, el, livePage, show, turnText, valueText } from "./ui.js";

const page = livePage();
const { config, t, root, $, announcer } = page;
const $$ = (selector) => Array.from(root.querySelectorAll(selector));

const state = {
  status: null,
  allowed: [],
  questionIndex: -1,
  total: 0,
  players: new Map(),
  joinedSinceSnapshot: new Map(), // player_joined frames since the last list came whole
  incoming: null, // the list of the last snapshot while its pages come, else null
  incomingSeq: null, // that snapshot's seq: pages of another are dropped
  leftSinceSnapshot: new Set(), // player_left since that snapshot: later pages skip them
  locked: false,
  answers: 0,
  question: null,
  standings: null, // the last team leaderboard rows, once a question was revealed
  buzz: null,
  tie: null, // {question, teams: [{team, received_us}], window_us}: a buzzer tie (平局)
  stakes: [],
};

const teamRound = Boolean(config.playsAsTeams);
const finals = config.kind === "finals";
const teams = new TeamBook({
  url: teamRound ? config.teamsUrl : "",
  teams: config.teams,
  onChange: () => {
    drawPlayers();
    drawStandings();
    drawTurn();
  },
});

// The snapshot that follows every welcome (a connection, a reconnect) brings the list.
const { client, countdown } = page.round({
  hello: () => ({ type: "host" }),
  onFrame: (frame) => onFrame(frame),
  onConnection: (status) => {
    if (status === "connecting") {
      // Joins seen on the old socket are in the next snapshot, or were kicked since
      // (a player_left this console may have missed); so is a list half received.
      state.joinedSinceSnapshot.clear();
      state.incoming = null;
    }
  },
});

/** Redraw from a fresh snapshot, once this socket is the host's (else the one after
 * the coming welcome will do). */
function refresh() {
  if (client.lastSeq !== null) {
    client.requestSnapshot();
  }
}

// --- frames ------------------------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "snapshot":
      applySnapshot(frame);
      return;
    case "player_list":
      takePage(frame);
      return;
    case "player_joined":
      addPlayer(frame.player);
      state.joinedSinceSnapshot.set(frame.player.id, frame.player);
      drawPlayers();
      return;
    case "buzzed":
      state.buzz = { question: frame.question, team: frame.team, awarded: Boolean(frame.awarded) };
      if (!frame.awarded) {
        state.tie = null; // a buzz leads alone now
      }
      drawTurn();
      return;
    case "buzz_tie":
      state.tie = { question: frame.question, teams: frame.teams, window_us: frame.window_us };
      state.buzz = null; // nobody answers until the host awards the tie
      drawTurn();
      announcer.say($("[data-buzz-line]").textContent);
      return;
    case "player_replaced":
      showNotice(t("player_replaced", { name: frame.player.nickname }));
      return;
    case "staked":
      state.stakes = state.stakes.filter(
        (row) => !(row.question === frame.question && row.team === frame.team),
      );
      state.stakes.push({ question: frame.question, team: frame.team, stake: frame.stake });
      drawTurn();
      return;
    case "player_left":
      state.players.delete(frame.player);
      state.joinedSinceSnapshot.delete(frame.player);
      if (state.incoming) {
        state.incoming.delete(frame.player);
        state.leftSinceSnapshot.add(frame.player);
      }
      drawPlayers();
      return;
    case "locked":
      state.locked = frame.locked;
      drawLock();
      return;
    case "answer_count":
      if (frame.question === state.questionIndex) {
        state.answers = frame.answers;
        drawCount();
      }
      return;
    case "error":
      showError(frame);
      return;
    case "question_opened":
      state.answers = 0;
      state.buzz = null;
      state.tie = null;
      drawCount();
      drawQuestion(frame.question);
      announcer.say(t("question_of", { n: frame.question.index + 1, total: state.total }));
      break;
    case "question_closed":
      countdown.stop(true);
      announcer.say(t("status_question_closed"));
      break;
    case "revealed":
      announcer.say(t("status_revealed"));
      takeStandings(frame.leaderboard);
      break;
    case "leaderboard":
    case "finished":
    case "question_voided":
      takeStandings(frame.leaderboard);
      break;
    case "paused":
      if (typeof frame.remaining_ms === "number") {
        countdown.freeze(frame.remaining_ms);
      }
      break;
    case "resumed":
      if (frame.status === "question_open") {
        countdown.run(frame.opened_at, frame.closes_at);
      }
      break;
    default:
      break;
  }
  if (typeof frame.seq === "number") {
    // The round moved: the snapshot says what the host may do now.
    client.requestSnapshot();
  }
}

function applySnapshot(frame) {
  state.status = frame.status;
  if (frame.teams) {
    teams.update(frame.teams);
  }
  if (frame.leaderboard) {
    takeStandings(frame.leaderboard);
  }
  if (finals) {
    state.buzz = frame.buzz ? { question: frame.question_index, ...frame.buzz } : null;
    state.tie = frame.buzz_tie ? { question: frame.question_index, ...frame.buzz_tie } : null;
    state.stakes = frame.stakes || [];
  }
  // Teams, turns and the roster are set up in the lobby only.
  const setup = document.querySelector("[data-setup]");
  const lobby = frame.status === "lobby" || (frame.status === "paused" && frame.paused_from === "lobby");
  if (setup && !lobby) {
    setup.remove();
  }
  state.allowed = frame.allowed || [];
  state.questionIndex = frame.question_index;
  state.total = frame.total_questions;
  state.locked = frame.locked;
  takePlayers(frame);
  if (typeof frame.answers === "number") {
    state.answers = frame.answers;
  }
  $("[data-status]").textContent = t("status_" + frame.status);
  $("[data-status]").dataset.status = frame.status;
  $("[data-question-meta]").textContent =
    frame.question_index >= 0
      ? t("question_of", { n: frame.question_index + 1, total: frame.total_questions })
      : "";
  for (const button of $$("[data-command]")) {
    const allowed = state.allowed.includes(button.dataset.command);
    show(button, allowed);
    button.disabled = !allowed;
  }
  const voidable = state.allowed.includes("void");
  const select = $("[data-void-select]");
  for (const option of select.options) {
    option.disabled = Number(option.value) > frame.question_index;
  }
  if (select.selectedOptions[0] && select.selectedOptions[0].disabled) {
    select.value = String(Math.max(0, frame.question_index));
  }
  $("[data-void-button]").disabled = !voidable;
  show($("[data-void-form]"), voidable);
  const visible = frame.status === "paused" ? frame.paused_from : frame.status;
  show($("[data-countdown]"), visible === "question_open");
  if (frame.question) {
    drawQuestion(frame.question, frame.status === "paused" ? frame.remaining_ms : null);
    if (visible !== "question_open") {
      countdown.stop(true);
    }
  } else {
    state.question = null;
    drawTurn();
    $("[data-stem]").replaceChildren();
    countdown.stop(false);
  }
  drawCount();
  drawPlayers();
  drawLock();
  drawStandings();
  root.dataset.status = frame.status;
}

function drawQuestion(question, frozenMs) {
  state.question = question;
  drawTurn();
  $("[data-stem]").innerHTML = question.stem;
  if (typeof frozenMs === "number") {
    countdown.freeze(frozenMs, question.closes_at - question.opens_at);
  } else {
    countdown.run(question.opens_at, question.closes_at);
  }
}

function drawCount() {
  $("[data-answers]").textContent = String(state.answers);
}

// --- players, lock ---------------------------------------------------------------------------

/**
 * The snapshot's list replaces the console's. The snapshot carries its first rows and
 * says how many follow (player_list_more); they come at once in player_list frames
 * stamped with its seq, and the list replaces the console's when the last has come
 * (until then the console shows the list it had). A player_joined that came meanwhile
 * and is not in the list is kept: that player joined after the snapshot was read (one
 * kicked since gets its player_left, which removes it again, also from pages to come).
 */
function takePlayers(frame) {
  if (!Array.isArray(frame.player_list)) {
    return;
  }
  state.incoming = new Map();
  state.incomingSeq = frame.seq;
  state.leftSinceSnapshot.clear();
  takeRows(frame.player_list, frame.player_list_more || 0);
}

function takePage(frame) {
  if (state.incoming === null || frame.snapshot_seq !== state.incomingSeq) {
    return; // a page of an earlier snapshot (or of a list already whole)
  }
  takeRows(frame.players, frame.more);
  if (state.incoming === null) {
    drawPlayers();
  }
}

function takeRows(rows, more) {
  for (const player of rows) {
    if (!state.leftSinceSnapshot.has(player.id)) {
      state.incoming.set(player.id, player);
    }
  }
  if (more > 0) {
    return;
  }
  state.players = new Map();
  for (const player of state.incoming.values()) {
    addPlayer(player);
  }
  for (const player of state.joinedSinceSnapshot.values()) {
    if (!state.players.has(player.id)) {
      addPlayer(player);
    }
  }
  state.joinedSinceSnapshot.clear();
  state.incoming = null;
}

function addPlayer(player) {
  state.players.set(player.id, { ...(state.players.get(player.id) || {}), ...player });
}

function drawPlayers() {
  const list = $("[data-players]");
  list.replaceChildren();
  if (teamRound) {
    // Grouped by team, in the teams' order; the captain first in each.
    const groups = new Map(teams.list().map((team) => [team.id, []]));
    const loose = [];
    for (const player of state.players.values()) {
      const group = player.team !== null && player.team !== undefined ? groups.get(player.team) : null;
      if (group) {
        group.push(player);
      } else if (player.team !== null && player.team !== undefined) {
        groups.set(player.team, [player]);
        teams.name(player.team); // unknown: ask for the teams again
      } else {
        loose.push(player);
      }
    }
    for (const [id, members] of groups) {
      members.sort((a, b) => Number(Boolean(b.captain)) - Number(Boolean(a.captain)));
      const sub = el("ul", { class: "player-sublist" }, ...members.map(playerItem));
      list.append(
        el(
          "li",
          { class: "player-team", "data-team": String(id) },
          el("span", { class: "player-team-name", text: teams.name(id) || "?" }),
          el("span", {
            class: "player-team-count muted",
            text: " (" + t(members.length === 1 ? "team_members_one" : "team_members", { n: members.length }) + ")",
          }),
          sub,
        ),
      );
    }
    if (loose.length) {
      list.append(
        el(
          "li",
          { class: "player-team" },
          el("span", { class: "player-team-name", text: t("no_team") }),
          el("ul", { class: "player-sublist" }, ...loose.map(playerItem)),
        ),
      );
    }
  } else {
    for (const player of state.players.values()) {
      list.append(playerItem(player));
    }
  }
  for (const node of $$("[data-player-count]")) {
    node.textContent = String(state.players.size);
  }
  show($("[data-no-players]"), state.players.size === 0);
}

function playerItem(player) {
  return el(
        "li",
        { class: "player-item", "data-player": player.id },
        el(
          "span",
          { class: "player-name" },
          player.nickname,
          player.captain ? el("span", { class: "captain-badge", text: t("captain") }) : null,
        ),
        el("button", {
          type: "button",
          class: "button button-small",
          "aria-label": t("kick") + " " + player.nickname,
          text: t("kick"),
          onclick: () => {
            if (window.confirm(t("kick_confirm", { name: player.nickname }))) {
              client.send({ type: "command", name: "kick", player: player.id });
            }
          },
        }),
      );
}

/** Team standings: the last leaderboard, else every team at the start score. */
function takeStandings(rows) {
  if (teamRound && Array.isArray(rows)) {
    state.standings = rows;
    drawStandings();
  }
}

function drawStandings() {
  const list = $("[data-standings]");
  if (!list) {
    return;
  }
  const rows =
    state.standings ||
    teams.list().map((team) => ({ rank: 1, team: team.id, name: team.name, points: config.startScore }));
  show($("[data-no-standings]"), rows.length === 0);
  list.replaceChildren(
    ...rows.map((row) =>
      el(
        "li",
        { class: "standing", "data-team": String(row.team) },
        el("span", { class: "board-rank", text: String(row.rank) }),
        el("span", { class: "board-name", text: row.name }),
        el("span", { class: "board-points", text: row.points + " " + t("points") }),
      ),
    ),
  );
}

/** The finals: whose turn the current question is, who leads the buzz, the stakes. */
function drawTurn() {
  const line = $("[data-turn]");
  if (!line) {
    return;
  }
  const question = state.question;
  const parts = question ? [turnText(question, (id) => teams.name(id), t), valueText(question, t)] : [];
  line.textContent = parts.filter(Boolean).join(" · ");
  show(line, Boolean(line.textContent));
  const buzzLine = $("[data-buzz-line]");
  const lead = question && state.buzz && state.buzz.question === question.index ? state.buzz : null;
  const tie = question && state.tie && state.tie.question === question.index ? state.tie : null;
  buzzLine.textContent =
    question && question.turn === "buzzer"
      ? tie
        ? tieText(tie, lead, (id) => teams.name(id), t)
        : lead
          ? t("buzz_led_by", { team: teams.name(lead.team) || "?" })
          : t("buzz_nobody")
      : "";
  buzzLine.classList.toggle("is-tie", Boolean(tie));
  show(buzzLine, Boolean(buzzLine.textContent));
  drawAward(question, tie && !lead ? tie : null);
  const stakeLine = $("[data-stake-line]");
  stakeLine.textContent = state.stakes
    .map((row) => t("staked", { team: teams.name(row.team) || "?", stake: row.stake, n: row.question + 1 }))
    .join(" ");
  show(stakeLine, state.stakes.length > 0);
}

/** 平局: the tied teams with their times after the first, and who answers once awarded. */
function tieText(tie, lead, teamName, t) {
  const first = tie.teams[0].received_us;
  const times = tie.teams
    .map((row) => t("buzz_tie_time", { team: teamName(row.team) || "?", ms: ((row.received_us - first) / 1000).toFixed(3) }))
    .join(" · ");
  const names = tie.teams.map((row) => teamName(row.team) || "?").join(" · ");
  const head = lead
    ? t("buzz_awarded", { team: teamName(lead.team) || "?" })
    : t("buzz_tie", { teams: names, ms: tie.window_us / 1000 });
  return head + " " + times;
}

/** While a tie is not settled: one button per tied team; the host presses the team the
 * tie went to on stage (lots drawn, or the competition's rule). An award is final. */
function drawAward(question, tie) {
  const box = $("[data-buzz-tie]");
  if (!box) {
    return;
  }
  // Open, or paused (from open: the server refuses an award after the close).
  const open = state.status === "question_open" || state.status === "paused";
  box.replaceChildren(
    ...(tie && open
      ? tie.teams.map((row) => {
          const name = teams.name(row.team) || "?";
          return el("button", {
            type: "button",
            class: "button button-primary",
            text: t("buzz_award", { team: name }),
            onclick: () => {
              if (window.confirm(t("buzz_award_confirm", { n: question.index + 1, team: name }))) {
                command("buzz_award", { question: question.index, team: row.team });
              }
            },
          });
        })
      : []),
  );
  show(box, box.children.length > 0);
}

/** A notice for the host (another device took a player's seat), kept a while. */
function showNotice(text) {
  const list = $("[data-notices]");
  if (!list) {
    return;
  }
  list.prepend(el("li", { text }));
  while (list.children.length > 5) {
    list.lastChild.remove();
  }
  show(list, true);
  announcer.say(text);
}

function drawLock() {
  const button = $("[data-lock]");
  button.setAttribute("aria-pressed", state.locked ? "true" : "false");
  $("[data-lock-state]").textContent = state.locked ? t("locked_yes") : t("locked_no");
}

// --- commands -------------------------------------------------------------------------------

function showError(frame) {
  const node = $("[data-error]");
  const key = "error_" + frame.code;
  node.textContent = frame.detail || (t(key) !== key ? t(key) : t("error_other"));
  show(node, true);
  setTimeout(() => show(node, false), 6000);
}

function command(name, extra) {
  show($("[data-error]"), false);
  for (const button of $$("[data-command]")) {
    button.disabled = true; // until the snapshot says what applies now
  }
  client.send({ type: "command", name, ...(extra || {}) });
  // If the command was refused, nothing moves: ask, so the buttons come back.
  setTimeout(() => client.requestSnapshot(), 1500);
}

for (const button of $$("[data-command]")) {
  button.addEventListener("click", () => {
    const name = button.dataset.command;
    if (name === "abort" && !window.confirm(t("abort_confirm"))) {
      return;
    }
    command(name);
  });
}

$("[data-lock]").addEventListener("click", () => {
  client.send({ type: "command", name: state.locked ? "unlock" : "lock" });
});

$("[data-void-form]").addEventListener("submit", (event) => {
  event.preventDefault();
  const index = Number($("[data-void-select]").value);
  if (window.confirm(t("void_confirm", { n: index + 1 }))) {
    command("void", { question: index });
  }
});

// The setup section (lobby) is sent again by htmx after each change: the teams may
// have changed, so read them (and the turns) again, and the players with a snapshot.
document.body.addEventListener("htmx:afterSwap", () => {
  teams.refresh();
  refresh();
});

client.start();
