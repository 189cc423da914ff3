// The training formats assistant's chat widget: deep-chat (vendored from npm by `make install`)
// talking to Rasa's REST channel. Mounts itself into #training-assistant (or any element with a
// data-training-assistant attribute), on our own page or on an intranet page that imports it.
//
// Safety: everything the user or the bot says is shown as text. Bot replies are escaped here and
// handed to deep-chat as HTML we built; user text goes through deep-chat's Markdown renderer,
// which escapes HTML, and links whose scheme is not http(s)/mailto lose their href.
import config from "./config.js";
import env from "./env.js";
import "./vendor/deep-chat.js";

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const DEFAULT_COLOURS = {
  primary: "#1f4e99", onPrimary: "#ffffff", background: "#eef1f6", surface: "#ffffff",
  botBubble: "#f0f3f8", botText: "#1b2330", error: "#a8201a", online: "#2e9e5b", offline: "#d9822b",
};
const SAFE_LINK = /^(?:https?|mailto):$/i;
const PING_EVERY_MS = 5000;

export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

// localStorage may be disabled (privacy settings): then the conversation lasts one page view.
const storage = (() => {
  try {
    const probe = "__training_assistant_probe__";
    localStorage.setItem(probe, "1");
    localStorage.removeItem(probe);
    return localStorage;
  } catch {
    return null;
  }
})();

function newSenderId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // available on plain-http intranet pages, unlike randomUUID
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function repliesHtml(buttons) {
  const items = buttons
    .filter((b) => b && typeof b.title === "string" && typeof b.payload === "string")
    .map((b) => `<button type="button" class="ta-reply" data-payload="${escapeHtml(b.payload)}">` +
      `${escapeHtml(b.title)}</button>`);
  return items.length ? `<div class="ta-replies" role="group" aria-label="Suggested replies">${items.join("")}</div>` : "";
}

// Rasa REST replies ({text?, buttons?, image?, custom?}) to deep-chat messages.
export function toChatMessages(replies) {
  const messages = [];
  for (const reply of replies) {
    if (!reply || typeof reply !== "object") continue;
    let html = "";
    if (typeof reply.text === "string" && reply.text.trim()) {
      html += `<div class="ta-text">${escapeHtml(reply.text)}</div>`;
    }
    if (typeof reply.image === "string" && /^https?:\/\//i.test(reply.image)) {
      html += `<img class="ta-image" src="${escapeHtml(reply.image)}" alt="">`;
    }
    if (Array.isArray(reply.buttons)) html += repliesHtml(reply.buttons);
    if (html) messages.push({ role: "ai", html });
  }
  return messages;
}

async function fetchWithTimeout(url, options, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fetch(url, { ...options, signal: controller.signal, cache: "no-store" });
  } finally {
    clearTimeout(timer);
  }
}

function chatStyles(c) {
  const bubble = {
    maxWidth: "85%", padding: "10px 14px", borderRadius: "16px", lineHeight: "1.45",
    fontSize: "15px", marginTop: "4px",
  };
  const ai = { bubble: { backgroundColor: c.botBubble, color: c.botText, borderBottomLeftRadius: "4px" } };
  const user = { bubble: { backgroundColor: c.primary, color: c.onPrimary, borderBottomRightRadius: "4px" } };
  return {
    default: { shared: { bubble }, ai, user },
    html: { shared: { bubble }, ai, user },
    intro: { bubble: { ...bubble, ...ai.bubble, maxWidth: "92%" } },
    error: {
      bubble: {
        ...bubble, backgroundColor: "#fff4f3", color: c.error, border: `1px solid ${c.error}`,
        fontWeight: "500",
      },
    },
  };
}

function auxiliaryStyle(c) {
  return `
    .ta-text { white-space: pre-wrap; overflow-wrap: anywhere; }
    .ta-image { max-width: 100%; border-radius: 8px; margin-top: 8px; display: block; }
    .ta-replies { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
    .ta-reply {
      font: inherit; font-size: 14px; line-height: 1.2; padding: 7px 14px; border-radius: 999px;
      border: 1.5px solid ${c.primary}; background: ${c.surface}; color: ${c.primary}; cursor: pointer;
    }
    .ta-reply:hover { background: ${c.primary}; color: ${c.onPrimary}; }
    .ta-reply:focus-visible { outline: 3px solid ${c.primary}; outline-offset: 2px; }
    #text-input-container:focus-within { outline: 2px solid ${c.primary}; outline-offset: 1px; }
    #input { background: ${c.surface}; }
    #messages { padding-top: 10px; }
  `;
}

export function mount(root, overrides = {}) {
  const cfg = { ...config, ...overrides };
  const colours = { ...DEFAULT_COLOURS };
  for (const [name, value] of Object.entries(cfg.colours || {})) {
    if (typeof value === "string" && HEX.test(value)) colours[name] = value;
    else console.warn(`training assistant: colour ${name} must be #rgb or #rrggbb, using the default`);
  }
  const texts = cfg.texts;
  const rasaUrl = String(env.rasaUrl || "").replace(/\/+$/, "");
  const senderKey = `${cfg.storageKey}:sender`;
  const historyKey = `${cfg.storageKey}:messages`;

  let senderId = storage?.getItem(senderKey);
  if (!senderId) {
    senderId = newSenderId();
    storage?.setItem(senderKey, senderId);
  }

  // --- frame: header with the assistant's name and a live connection status ------------------
  if (document.body.classList.contains("ta-page")) {  // our stand-alone page, not an embed
    document.title = cfg.assistantName;
    document.body.style.setProperty("--ta-page-background", colours.background);
  }
  root.classList.add("ta-widget");
  for (const [name, value] of Object.entries(colours)) root.style.setProperty(`--ta-${name}`, value);
  root.replaceChildren();
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const header = el("header", "ta-header");
  const badge = el("div", "ta-badge", cfg.logoText || "");
  badge.setAttribute("aria-hidden", "true");
  const titles = el("div", "ta-titles");
  titles.append(el("h1", "ta-title", cfg.assistantName), el("p", "ta-org", cfg.organisation));
  const status = el("p", "ta-status");
  status.setAttribute("role", "status");
  const statusDot = el("span", "ta-dot");
  statusDot.setAttribute("aria-hidden", "true");
  const statusText = el("span", "ta-status-text", "…");
  status.append(statusDot, statusText);
  const reset = el("button", "ta-reset", texts.newConversation);
  reset.type = "button";
  header.append(badge, titles, status, reset);

  const chat = document.createElement("deep-chat");
  chat.className = "ta-chat";
  // A font of our own keeps deep-chat from adding a Google Fonts stylesheet to the page.
  chat.style.fontFamily = "inherit";
  root.append(header, chat);

  // --- connection status: pings Rasa while it is unreachable, so the page recovers on its own ---
  let pingTimer = null;
  function setOnline(online) {
    root.dataset.status = online ? "online" : "offline";
    statusText.textContent = online ? texts.online : texts.offline;
    if (!online && pingTimer === null) pingTimer = setTimeout(ping, PING_EVERY_MS);
  }
  async function ping() {
    pingTimer = null;
    try {
      const response = await fetchWithTimeout(`${rasaUrl}/`, { method: "GET" }, Math.min(cfg.requestTimeoutMs, 4000));
      setOnline(response.ok);
    } catch {
      setOnline(false);
    }
  }

  // --- quick replies: the title is shown as the user's message, the payload goes to Rasa -------
  let pendingReply = null;
  function onReplyClick(event) {
    const button = event.target?.closest?.(".ta-reply");
    if (!button) return;
    pendingReply = { title: button.textContent, payload: button.dataset.payload };
    chat.submitUserMessage({ text: button.textContent });
  }

  async function handler(body, signals) {
    const text = body?.messages?.[body.messages.length - 1]?.text ?? "";
    let message = text;
    if (pendingReply && pendingReply.title.trim() === text.trim()) message = pendingReply.payload;
    pendingReply = null;
    let response;
    try {
      response = await fetchWithTimeout(`${rasaUrl}/webhooks/rest/webhook`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: senderId, message }),
      }, cfg.requestTimeoutMs);
    } catch (error) {
      setOnline(false);
      return signals.onResponse({ error: error?.name === "AbortError" ? texts.timeout : texts.unreachable });
    }
    setOnline(true);
    let replies = null;
    try {
      replies = response.ok ? await response.json() : null;
    } catch {
      replies = null;
    }
    if (!response.ok || !Array.isArray(replies)) return signals.onResponse({ error: texts.serverError });
    const messages = toChatMessages(replies);
    if (messages.length === 0) return signals.onResponse({ error: texts.noReply });
    return signals.onResponse(messages);
  }

  const welcomeHtml = `<div class="ta-text">${escapeHtml(cfg.welcome.text)}</div>` +
    repliesHtml(cfg.welcome.suggestions || []);

  Object.assign(chat, {
    connect: { handler },
    introMessage: { html: welcomeHtml },
    browserStorage: storage ? { key: historyKey, maxMessages: cfg.maxStoredMessages } : undefined,
    htmlClassUtilities: { "ta-reply": { events: { click: onReplyClick } } },
    errorMessages: { displayServiceErrorMessages: true, overrides: { default: texts.unreachable } },
    textInput: {
      placeholder: { text: texts.placeholder },
      characterLimit: 1000,
      styles: {
        container: {
          borderRadius: "22px", border: "1px solid #c9d1dd", boxShadow: "none",
          backgroundColor: colours.surface, width: "calc(100% - 70px)", padding: "2px 4px",
        },
        // The right padding keeps typed text clear of the send button.
        text: { padding: "10px 52px 10px 14px", fontSize: "15px", color: colours.botText },
      },
    },
    submitButtonStyles: {
      submit: {
        container: { default: { backgroundColor: colours.primary, borderRadius: "50%", padding: "8px", marginBottom: "1px" } },
        svg: { styles: { default: { filter: "brightness(0) invert(1)" } } },
      },
      disabled: {
        container: { default: { backgroundColor: "#b9c3d2", borderRadius: "50%", padding: "8px", marginBottom: "1px" } },
        svg: { styles: { default: { filter: "brightness(0) invert(1)" } } },
      },
    },
    messageStyles: chatStyles(colours),
    auxiliaryStyle: auxiliaryStyle(colours),
    chatStyle: {
      width: "100%", height: "100%", border: "none", borderRadius: "0",
      backgroundColor: colours.surface, fontFamily: "inherit", fontSize: "15px",
    },
  });

  // Links typed by the user keep only http(s)/mailto targets (deep-chat accepts any scheme).
  const scrubLinks = () => {
    for (const link of chat.shadowRoot?.querySelectorAll("a[href]") || []) {
      let protocol = "";
      try {
        protocol = new URL(link.getAttribute("href"), location.href).protocol;
      } catch { /* unparsable: drop it */ }
      if (!SAFE_LINK.test(protocol)) link.removeAttribute("href");
      link.rel = "noopener noreferrer";
    }
  };
  // Screen readers: new messages are announced, the input and the send button have names.
  const labelControls = () => {
    const shadow = chat.shadowRoot;
    const messages = shadow.getElementById("messages");
    if (messages && !messages.getAttribute("role")) messages.setAttribute("role", "log");
    const input = shadow.getElementById("text-input");
    if (input && !input.getAttribute("aria-label")) input.setAttribute("aria-label", texts.placeholder);
    const send = shadow.querySelector(".input-button[role=button]");
    if (send && !send.getAttribute("aria-label")) send.setAttribute("aria-label", texts.send);
  };
  if (chat.shadowRoot) {
    new MutationObserver(() => {
      scrubLinks();
      labelControls();
    }).observe(chat.shadowRoot, { childList: true, subtree: true });
  }

  reset.addEventListener("click", () => {
    senderId = newSenderId();
    storage?.setItem(senderKey, senderId);
    pendingReply = null;
    chat.clearMessages(true);
    storage?.removeItem(historyKey);
    chat.focusInput?.();
  });

  ping();
  return chat;
}

function injectStylesheet() {
  const href = new URL("./widget.css", import.meta.url).href;
  if ([...document.querySelectorAll("link[rel=stylesheet]")].some((l) => l.href === href)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}

injectStylesheet();
const target = document.getElementById("training-assistant") || document.querySelector("[data-training-assistant]");
if (target) mount(target);
