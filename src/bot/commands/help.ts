import { z } from "zod";
import { b, code, type Message, t } from "../../core/message.js";
import { FLAGS } from "../parse.js";
import { defineCommand } from "../registry.js";

/** `help [command]`: the command list, or one command in detail. Generated from the registry. */
export const help = defineCommand({
  name: "help",
  summary: "list the commands, or explain one",
  params: [{ key: "command", label: "command", kind: "command", optional: true }],
  args: z.object({ command: z.string().optional() }),
  sideEffects: "none",
  selfAuthorized: true,
  permission: () => ({ verb: "help" }),
  examples: ["help", "help promote"],
  async run(a, ctx) {
    if (a.command) {
      const c = ctx.registry.resolve(a.command);
      const blocks: Message["blocks"] = [
        { kind: "text", text: [t(`${c.summary[0]?.toUpperCase()}${c.summary.slice(1)}.`)] },
      ];
      if (c.details) blocks.push({ kind: "text", text: [t(c.details)] });
      if (c.flags.length) {
        blocks.push({
          kind: "facts",
          facts: c.flags.map((f) => ({ label: `--${f}`, value: [t(FLAGS[f].summary)] })),
        });
      }
      if (c.examples?.length) {
        blocks.push({
          kind: "context",
          text: [t("Examples: "), ...c.examples.flatMap((e, i) => (i ? [t(", "), code(e)] : [code(e)]))],
        });
      }
      return {
        title: [code(c.usage)],
        severity: "info",
        blocks,
        fallbackText: `${c.usage}\n${c.summary}`,
        visibility: "actor",
      };
    }
    const cmds = ctx.registry.list();
    return {
      title: [b("gitops-bot commands")],
      severity: "info",
      blocks: [
        {
          kind: "table",
          columns: ["command", "what it does"],
          rows: cmds.map((c) => [[code(c.usage)], [t(c.summary)]]),
        },
        {
          kind: "context",
          text: [
            t("Every command that changes something accepts "),
            code("--dry-run"),
            t(". Type "),
            code("help <command>"),
            t(" for details."),
          ],
        },
      ],
      fallbackText: cmds.map((c) => `${c.usage}  ${c.summary}`).join("\n"),
      visibility: "actor",
    };
  },
});
