// Shared drawing helpers for the live-round pages, and the opening they share
// (livePage). Texts come translated from the page (a JSON block written by the
// server), never hard-coded here.

import { LiveClient } from "./client.js";

export const SHAPES = [
  { shape: "▲", name: "triangle" },
  { shape: "◆", name: "diamond" },
  { shape: "●", name: "circle" },
  { shape: "■", name: "square" },
  { shape: "★", name: "star" },
  { shape: "⬢", name: "hexagon" },
];
export const LABELS = "ABCDEFGHIJ";

export function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** A translator over the page's strings: t("rank", {rank: 2}) fills %(rank)s. */
export function translator(strings) {
  return function t(key, params) {
    let text = strings[key] !== undefined ? strings[key] : key;
    if (params) {
      text = text.replace(/%\((\w+)\)s/g, (whole, name) =>
        params[name] !== undefined ? String(params[name]) : whole,
      );
    }
    return text;
  };
}

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (name === "class") {
      node.className = value;
    } else if (name === "text") {
      node.textContent = value;
    } else if (name === "html") {
      // Only for stems, options and explanations: sanitised HTML from the server.
      node.innerHTML = value;
    } else if (name.startsWith("on")) {
      node.addEventListener(name.slice(2), value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(node, visible) {
  if (node) {
    node.hidden = !visible;
  }
}

/** Screen-reader announcements through one polite live region. */
export class Announcer {
  constructor(node) {
    this.node = node;
    this.last = "";
  }

  say(text) {
    if (!this.node || !text) {
      return;
    }
    // The same text twice in a row would not be read again: nudge it.
    this.node.textContent = text === this.last ? text + "\u00a0" : text;
    this.last = text;
  }
}

/** A countdown to a server time, drawn as whole seconds and a shrinking bar. */
export class Countdown {
  constructor({ number, bar, label, serverNow, t, onZero }) {
    this.number = number;
    this.bar = bar;
    this.label = label;
    this.serverNow = serverNow;
    this.t = t;
    this.onZero = onZero || (() => {});
    this.timer = null;
    this.closesAt = null;
    this.total = 1;
    this.frozen = null;
    this.lastWhole = null;
  }

  run(opensAt, closesAt) {
    this.closesAt = closesAt;
    this.total = Math.max(1, closesAt - opensAt);
    this.frozen = null;
    this.lastWhole = null;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.draw(), 100);
    this.draw();
  }

  /** Show a fixed remaining time (paused). */
  freeze(remainingMs, totalMs) {
    clearInterval(this.timer);
    this.timer = null;
    this.frozen = remainingMs;
    if (totalMs) {
      this.total = totalMs;
    }
    this.paint(remainingMs);
  }

  stop(showZero) {
    clearInterval(this.timer);
    this.timer = null;
    if (showZero) {
      this.paint(0);
    }
  }

  remaining() {
    if (this.frozen !== null) {
      return this.frozen;
    }
    if (this.closesAt === null) {
      return 0;
    }
    return Math.max(0, this.closesAt - this.serverNow());
  }

  draw() {
    const left = this.remaining();
    this.paint(left);
    if (left <= 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.onZero();
    }
  }

  paint(left) {
    const whole = Math.ceil(left / 1000);
    if (this.number && whole !== this.lastWhole) {
      this.number.textContent = String(whole);
      this.lastWhole = whole;
      if (this.label) {
        this.label.setAttribute("aria-label", this.t("seconds_left", { s: whole }));
      }
    }
    if (this.bar) {
      const share = Math.max(0, Math.min(1, left / this.total));
      this.bar.style.transform = "scaleX(" + share.toFixed(4) + ")";
      this.bar.classList.toggle("is-low", whole <= 5);
    }
  }
}

/** What an option button or key row shows: its shape, its letter, its text. */
export function optionContent(option, position) {
  const look = SHAPES[position % SHAPES.length];
  return [
    el("span", { class: "shape", "aria-hidden": "true", text: look.shape }),
    el("span", { class: "option-label", text: LABELS[position] || "" }),
    el("span", { class: "option-text", html: option.text }),
  ];
}

/** One row of a revealed key: the option, marked right (also for screen readers,
 * with `rightLabel`) and marked as the player's own choice (`mineLabel`). */
export function keyOptionItem(option, position, { right, mine, rightLabel, mineLabel }) {
  return el(
    "li",
    {
      class:
        "key-option shape-" +
        (position % SHAPES.length) +
        (right ? " is-right" : "") +
        (mine ? " is-mine" : ""),
    },
    el("span", { class: "key-mark", "aria-hidden": "true", text: right ? "✓" : "" }),
    ...optionContent(option, position),
    right ? el("span", { class: "visually-hidden", text: " (" + rightLabel + ")" }) : null,
    mine ? el("span", { class: "key-mine", text: mineLabel }) : null,
  );
}

/** The stored options of a question in the order a player sees them. */
export function ordered(options, permutation) {
  if (!Array.isArray(permutation) || permutation.length !== options.length) {
    return options.map((option, index) => ({ option, index }));
  }
  return permutation
    .filter((i) => Number.isInteger(i) && i >= 0 && i < options.length)
    .map((i) => ({ option: options[i], index: i }));
}

/** The key of a leaderboard row: players by id, teams (team rounds, finals) by team id. */
export function rowKey(row) {
  return row.team !== undefined && row.player === undefined ? "team-" + row.team : String(row.player);
}

/** A leaderboard list keyed by player (or team) id, so rows glide to their new place (CSS).
 * `highlight` is the key of the row to mark as "you" (see rowKey). */
export function drawLeaderboard(list, rows, { highlight, t, rowHeight }) {
  const existing = new Map();
  for (const item of list.querySelectorAll("[data-key]")) {
    existing.set(item.dataset.key, item);
  }
  const keep = new Set();
  rows.forEach((row, position) => {
    const id = rowKey(row);
    keep.add(id);
    let item = existing.get(id);
    if (!item) {
      const isTeam = id.startsWith("team-");
      item = el(
        "li",
        {
          class: "board-row is-new" + (isTeam ? " is-team" : ""),
          "data-key": id,
          "data-player": isTeam ? null : id,
          "data-team": isTeam ? String(row.team) : null,
        },
        el("span", { class: "board-rank" }),
        el("span", { class: "board-name" }),
        el("span", { class: "board-points" }),
      );
      list.append(item);
      requestAnimationFrame(() => requestAnimationFrame(() => item.classList.remove("is-new")));
    }
    item.querySelector(".board-rank").textContent = String(row.rank);
    item.querySelector(".board-name").textContent = row.name !== undefined ? row.name : row.nickname;
    item.querySelector(".board-points").textContent = row.points + " " + t("points");
    item.classList.toggle("is-first", position === 0);
    item.classList.toggle("is-you", highlight !== undefined && highlight !== null && String(highlight) === id);
    item.style.transform = "translateY(" + position * rowHeight + "em)";
    item.style.setProperty("--position", String(position));
  });
  for (const [id, item] of existing) {
    if (!keep.has(id)) {
      item.remove();
    }
  }
  list.style.height = rows.length * rowHeight + "em";
}

/**
 * The teams of a team round, by id, and (stage finals) who answers each question. The
 * page starts with the teams it was rendered with; snapshots add theirs; `refresh()`
 * asks the server (GET /live/<pin>/teams/) when a team id is unknown or turns are needed.
 */
export class TeamBook {
  constructor({ url, teams, onChange }) {
    this.url = url;
    this.teams = new Map();
    this.turns = [];
    this.onChange = onChange || (() => {});
    this.loading = null;
    this.asked = new Set();
    this.update(teams || []);
  }

  update(list) {
    for (const team of list || []) {
      this.teams.set(team.id, { ...(this.teams.get(team.id) || {}), ...team });
    }
  }

  name(id) {
    const team = this.teams.get(id);
    if (!team && id !== null && id !== undefined && !this.asked.has(id)) {
      this.asked.add(id); // once per unknown id: a team made after this page was drawn
      this.refresh();
    }
    return team ? team.name : "";
  }

  list() {
    return Array.from(this.teams.values());
  }

  turn(index) {
    return this.turns.find((row) => row.index === index) || null;
  }

  /** Fetch the teams (and turns); `params` may name a roster token. Resolves to the data. */
  refresh(params) {
    if (!this.url) {
      return Promise.resolve(null);
    }
    if (this.loading && !params) {
      return this.loading;
    }
    const query = params ? "?" + new URLSearchParams(params).toString() : "";
    const loading = fetch(this.url + query, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (data) {
          this.teams = new Map();
          this.update(data.teams);
          this.turns = data.turns || [];
          this.onChange(data);
        }
        return data;
      })
      .catch(() => null)
      .finally(() => {
        if (this.loading === loading) {
          this.loading = null;
        }
      });
    if (!params) {
      this.loading = loading;
    }
    return loading;
  }
}

/** Who answers a question of the stage finals, for people: "Buzzer: …", "Compulsory: A". */
export function turnText(question, teamName, t) {
  if (!question || !question.turn) {
    return "";
  }
  const team = question.team !== null && question.team !== undefined ? teamName(question.team) : "";
  return t("turn_" + question.turn, { team: team || "?" });
}

/** What a question of the finals is worth: "+10 points if right", "±10 points". */
export function valueText(question, t) {
  if (!question || typeof question.value !== "number") {
    return "";
  }
  if (question.turn === "compulsory" || question.turn === "all") {
    return t("value_plus", { value: question.value });
  }
  if (question.turn === "buzzer") {
    return t("value_both", { value: question.value });
  }
  return "";
}

/** The text of a key for people to read (after the reveal only). */
export function keyText(question, key, t) {
  if (!key) {
    return "";
  }
  if (question.type === "true_false") {
    return t("answer_is", { value: key.value ? t("true") : t("false") });
  }
  if (question.type === "fill") {
    return t("accepted_answers", { answers: (key.accepted || []).join(" / ") });
  }
  if (question.type === "numeric") {
    const unit = key.unit ? " " + key.unit : "";
    const tolerance = key.tolerance ? " ± " + key.tolerance : "";
    return t("answer_is", { value: key.value + tolerance + unit });
  }
  return "";
}

/** The option ids the key marks right (choice questions), in key order. */
export function keyOptionIds(key) {
  if (!key) {
    return [];
  }
  return key.options || key.order || [];
}

/**
 * Bars of the answer distribution (plain HTML/CSS). `entries` is a list of
 * {id, label, html, shape, right}; `counts` maps an option id (or "true"/"false")
 * to its number of answers.
 */
export function drawDistribution(container, entries, counts, t) {
  container.replaceChildren();
  const max = Math.max(1, ...entries.map((e) => counts[e.id] || 0));
  const list = el("ul", { class: "dist", role: "list" });
  entries.forEach((entry, position) => {
    const n = counts[entry.id] || 0;
    const bar = el("span", { class: "dist-bar", "aria-hidden": "true" });
    const item = el(
      "li",
      {
        class: "dist-row shape-" + (position % SHAPES.length) + (entry.right ? " is-right" : ""),
      },
      el(
        "span",
        { class: "dist-label" },
        entry.shape ? el("span", { class: "shape", "aria-hidden": "true", text: entry.shape }) : null,
        entry.right ? el("span", { class: "mark-right", text: "✓ " }) : null,
        entry.html !== undefined ? el("span", { class: "dist-text", html: entry.html }) : entry.label,
        entry.right ? el("span", { class: "visually-hidden", text: " (" + t("right_answer") + ")" }) : null,
      ),
      el("span", { class: "dist-track" }, bar),
      el("span", { class: "dist-count", text: t(n === 1 ? "answer_one" : "answers_count", { n }) }),
    );
    list.append(item);
    requestAnimationFrame(() => {
      bar.style.transform = "scaleX(" + (n / max).toFixed(4) + ")";
    });
  });
  container.append(el("h3", { class: "dist-title", text: t("distribution") }), list);
}

// --- the opening of every live page ------------------------------------------------------------

/**
 * What the player, host and screen pages start with: the config and the translated
 * strings the server wrote into the page, its root with a query on it ($), the named
 * views ([data-view]), the screen-reader announcer, the connection line, and round()
 * for the round's client and countdown.
 */
export function livePage() {
  const config = readJson("live-config");
  const t = translator(readJson("live-strings"));
  const root = document.querySelector("[data-live-root]");
  const $ = (selector) => root.querySelector(selector);
  const views = {};
  for (const node of root.querySelectorAll("[data-view]")) {
    views[node.dataset.view] = node;
  }
  const announcer = new Announcer($("[data-announce]"));

  /** The connection line ([data-connection]): empty while the socket is open. */
  function drawConnection(status) {
    const node = $("[data-connection]");
    node.dataset.state = status;
    node.textContent = status === "open" ? "" : status === "lost" ? t("reconnecting") : t("connecting");
  }

  /**
   * The round's client, not started yet (the page calls client.start()), and the
   * countdown on its clock. The client draws its state on the connection line, then
   * calls onConnection if given. It is also window.sciarenaLive, for tests and for
   * curious people with a console.
   */
  function round({ hello, onFrame, onConnection, onZero }) {
    const client = new LiveClient({
      pin: config.pin,
      path: config.socketPath,
      hello,
      onFrame,
      onConnection: (status) => {
        drawConnection(status);
        if (onConnection) {
          onConnection(status);
        }
      },
    });
    window.sciarenaLive = client;
    const countdown = new Countdown({
      number: $("[data-countdown-number]"),
      bar: $("[data-countdown-bar]"),
      label: $("[data-countdown]"),
      serverNow: () => client.serverNow(),
      t,
      onZero,
    });
    return { client, countdown };
  }

  return { config, t, root, $, views, announcer, drawConnection, round };
}
