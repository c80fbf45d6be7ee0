/**
 * The one shared set of IR messages every renderer is checked against (DESIGN.md "Testing").
 * Together they use every block kind and every span kind (render.test.ts asserts it), plus
 * long texts that must be truncated and hostile text that must not ping, format or inject.
 */
import { type Message, b, code, i, link, mention, t } from "../../src/core/message.js";

const HOSTILE = "<!channel> *bold* _it_ ~strike~ `tick` ```fence``` <script>alert(1)</script> & [x](javascript:alert(1)) # head";

export const goldenMessages: Record<string, Message> = {
  "all-kinds": {
    title: [t("Released "), code("podinfo:1.2.3"), t(" to "), b("prod")],
    severity: "success",
    fallbackText: "Released podinfo:1.2.3 to prod",
    blocks: [
      {
        kind: "text",
        text: [
          t("By "),
          mention("slack:U0123ABC", "alice"),
          t(" and "),
          mention("teams:29:1abcDEF", "bob"),
          t(", see "),
          link("commit 810c2e6", "https://github.com/org/repo/commit/810c2e6f00"),
          t(" — "),
          i("approved"),
          t(" and "),
          b("done"),
          t("."),
        ],
      },
      {
        kind: "facts",
        facts: [
          { label: "Env", value: [t("prod")] },
          { label: "App", value: [t("podinfo")] },
          { label: "Tag", value: [code("1.2.2"), t(" → "), code("1.2.3")] },
          { label: "Chart", value: [t("6.5.0")] },
        ],
      },
      { kind: "code", text: "Release \"podinfo-prod\" has been upgraded.\nREVISION: 7", language: "text" },
      { kind: "divider" },
      {
        kind: "table",
        columns: ["Env", "Tag", "Commit"],
        rows: [
          [[t("dev")], [code("dev-abc")], [link("a1b2c3d", "https://github.com/org/repo/commit/a1b2c3d4")]],
          [[t("prod")], [code("1.2.3")], [link("810c2e6", "https://github.com/org/repo/commit/810c2e6f")]],
        ],
      },
      {
        kind: "actions",
        actions: [
          { label: "Rollback", command: "rollback podinfo prod", style: "danger" },
          { label: "Lock", command: "lock podinfo prod" },
          { label: "Approve", command: "approve 42", style: "primary", value: "approve:42" },
        ],
      },
      { kind: "context", text: [t("cluster "), b("eu-1"), t(" · ref 9x8y7z")] },
    ],
  },
  "plain-table": {
    severity: "info",
    fallbackText: "Apps in dev",
    blocks: [
      { kind: "text", text: [t("Apps in dev:")] },
      {
        kind: "table",
        columns: ["App", "Tag", "Automated"],
        rows: [
          [[t("podinfo")], [t("dev-9ij63o4c")], [t("yes")]],
          [[t("frontend_web")], [t("dev-1")], [t("no")]],
        ],
      },
    ],
  },
  hostile: {
    title: [t(HOSTILE)],
    severity: "warning",
    fallbackText: HOSTILE,
    blocks: [
      { kind: "text", text: [t(HOSTILE)] },
      { kind: "text", text: [b(HOSTILE), t(" "), i(HOSTILE), t(" "), code(HOSTILE)] },
      { kind: "facts", facts: [{ label: "<!here> *x*", value: [t(HOSTILE)] }] },
      { kind: "code", text: HOSTILE },
      { kind: "text", text: [link("<!channel> click", "javascript:alert(1)"), t(" "), link("a|b>c", "https://x.test/?a=1&b=<2>|3")] },
      { kind: "text", text: [mention("not-a-slack-id", "<!everyone>")] },
      { kind: "table", columns: ["*col*", "<b>"], rows: [[[t(HOSTILE)], [t("`x`")]]] },
      { kind: "actions", actions: [{ label: HOSTILE, command: "lock podinfo prod <!channel>" }] },
      { kind: "context", text: [t("1. not a list\n- not a bullet\n> not a quote")] },
    ],
  },
  long: {
    title: [t("A very long message")],
    severity: "error",
    fallbackText: "x".repeat(5000),
    blocks: [
      { kind: "text", text: [t("word & ".repeat(700))] },
      { kind: "text", text: [b("B".repeat(2990)), link("a link that cannot fit", "https://example.test/long")] },
      { kind: "code", text: "error line <with> brackets\n".repeat(200) },
      { kind: "facts", facts: Array.from({ length: 13 }, (_, n) => ({ label: `Fact ${n}`, value: [t("v".repeat(2500))] })) },
      {
        kind: "actions",
        actions: [
          { label: "L".repeat(100), command: "promote podinfo stg prod", value: "v".repeat(2100) },
          ...Array.from({ length: 27 }, (_, n) => ({ label: `Button ${n}`, command: `noop ${n}` })),
        ],
      },
      ...Array.from({ length: 60 }, (_, n) => ({ kind: "context" as const, text: [t(`line ${n}`)] })),
    ],
  },
  empty: {
    severity: "info",
    fallbackText: "Nothing to do.",
    blocks: [],
  },
};
