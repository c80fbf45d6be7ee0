import { z } from "zod";
import { code, type Message, t } from "../../core/message.js";
import { defineCommand } from "../registry.js";
import { requireInstance } from "./format.js";

/** `images <app> <env>`: candidate tags from the registry, newest first, the one running, the
 * next one automation would release, and why automation waits. */
export const images = defineCommand({
  name: "images",
  summary: "list candidate image tags for an app in an environment",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
  ],
  args: z.object({ app: z.string(), env: z.string() }),
  sideEffects: "none",
  permission: (a) => ({ verb: "images", env: a.env }),
  examples: ["images podinfo dev"],
  async run(a, ctx) {
    const inst = requireInstance(await ctx.model(), a.app, a.env);
    const current = inst.workload.images.map((i) => ({
      label: i.container,
      value: [
        code(`${i.repository}:${i.tag}`),
        ...(i.filter ? [t(` filter ${i.filter.kind}:${i.filter.expr}`)] : []),
      ],
    }));
    if (!ctx.images) {
      return {
        title: [t("Image candidates are not available yet")],
        severity: "info",
        blocks: [
          {
            kind: "text",
            text: [
              t(
                "This bot has no registry scanner configured, so it cannot list candidate tags. What runs now:",
              ),
            ],
          },
          { kind: "facts", facts: current },
        ],
        fallbackText: "Image candidates are not available yet (no registry scanner configured).",
        visibility: "actor",
      };
    }
    const found = await ctx.images.candidates({ app: a.app, env: a.env });
    ctx.output({ images: found });
    const blocks: Message["blocks"] = found.flatMap((c) => [
      {
        kind: "table" as const,
        columns: [`${c.container} (${c.repository})`, "created", "matches filter"],
        rows: c.tags.map((tag) => [
          [code(tag.tag), ...(tag.current ? [t(" ← running")] : []), ...(tag.next ? [t(" ← next")] : [])],
          [t(tag.created ?? "-")],
          [t(tag.matches ? "yes" : "no")],
        ]),
      },
      ...(c.waiting || c.more
        ? [
            {
              kind: "text" as const,
              text: [
                ...(c.filter ? [t(`filter ${c.filter}. `)] : []),
                ...(c.waiting ? [t(`Automation waits: ${c.waiting}. `)] : []),
                ...(c.more ? [t(`${c.more} more tag(s) not listed.`)] : []),
              ],
            },
          ]
        : []),
    ]);
    return {
      title: [t(`Image tags for ${a.app} in ${a.env}`)],
      severity: "info",
      blocks,
      fallbackText: `Image tags for ${a.app} in ${a.env}`,
    };
  },
});
