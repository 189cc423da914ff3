// The one place to brand the chat widget: organisation, assistant name, colours and texts.
// Colours must be CSS hex colours (#rgb or #rrggbb). Where the browser reaches Rasa is not
// set here but by the web server (RASA_URL, see README).
export default {
  organisation: "Acme Corporation · Learning & Development",
  assistantName: "Training Formats Assistant",
  logoText: "TF", // one or two letters shown in the header badge

  colours: {
    primary: "#1f4e99", // header, user bubbles, send button, quick-reply outline
    onPrimary: "#ffffff", // text on the primary colour
    background: "#eef1f6", // page background around the chat
    surface: "#ffffff", // chat area
    botBubble: "#f0f3f8",
    botText: "#1b2330",
    error: "#a8201a",
    online: "#2e9e5b",
    offline: "#d9822b",
  },

  welcome: {
    text:
      "Hello! I answer training managers' questions about MOOCs, COOCs and SPOCs, " +
      "compare them, and recommend a format for your next course. What would you like to know?",
    suggestions: [
      { title: "What is a MOOC?", payload: '/ask_definition{"format":"mooc"}' },
      { title: "Compare formats", payload: "/compare_formats" },
      { title: "Recommend a format", payload: "/request_recommendation" },
    ],
  },

  texts: {
    placeholder: "Ask about MOOCs, COOCs or SPOCs…",
    online: "Online",
    offline: "Offline — reconnecting…",
    newConversation: "New conversation",
    send: "Send",
    unreachable: "The assistant can't be reached right now. Please try again in a moment.",
    timeout: "The assistant is taking too long to answer. Please try again in a moment.",
    serverError: "The assistant ran into a problem. Please try again in a moment.",
    noReply: "The assistant had no answer to that. Try rephrasing, or pick a suggestion.",
  },

  requestTimeoutMs: 8000, // how long to wait for an answer before saying so
  storageKey: "training-assistant", // localStorage prefix (sender id and history)
  maxStoredMessages: 200,
};
