/**
 * Message builders: fluxcloud-compatible text and the rich layout, as golden files, plus the
 * behaviour a reader relies on (one message per release, links everywhere, buttons that run the
 * right commands, colour by outcome).
 */
import { describe, expect, it } from "vitest";
import { renderText } from "../../../src/chat/shell/render.js";
import { renderSlack } from "../../../src/chat/slack/render.js";
import { renderTeams } from "../../../src/chat/teams/render.js";
import type { GitopsEvent } from "../../../src/core/events.js";
import { type Message, messageToPlainText } from "../../../src/core/message.js";
import { fluxcloudMessage } from "../../../src/notifications/format/fluxcloud.js";
import { CommitLinker } from "../../../src/notifications/format/links.js";
import { detailMessage, richMessage } from "../../../src/notifications/format/rich.js";
import { type View, ViewStore } from "../../../src/notifications/state.js";
import * as ev from "../../golden/events.js";
import { expectGolden } from "../../golden/golden.js";

const linker = new CommitLinker("https://github.com/org/config");

/** Folds events and returns the view the last one landed in. */
function viewOf(...events: GitopsEvent[]): View {
  const store = new ViewStore();
  let last: View | undefined;
  for (const e of events) last = store.fold(e).views.at(-1) ?? last;
  if (!last) throw new Error("no view");
  return last;
}

const json = (x: unknown) => `${JSON.stringify(x, null, 2)}\n`;

describe("fluxcloud layout", () => {
  const cases: Record<string, View> = {
    sync: viewOf(ev.manualSync),
    "sync-with-errors": viewOf(ev.syncWithErrors),
    autorelease: viewOf(ev.autoRelease, ev.autoSync),
    release: viewOf(ev.promote),
    "policy-commit": viewOf(ev.policyCommit),
  };
  for (const [name, view] of Object.entries(cases)) {
    it(`golden ${name}`, () => {
      const msg = fluxcloudMessage(view, linker);
      expectGolden(`notifications/fluxcloud/${name}.txt`, renderText(msg, { color: false }));
      expectGolden(`notifications/fluxcloud/${name}.slack.json`, json(renderSlack(msg)));
    });
  }

  it("matches fluxcloud's title, Event line and sections", () => {
    const text = messageToPlainText(fluxcloudMessage(cases["sync-with-errors"]!, linker));
    expect(text).toContain("Applied flux changes to cluster");
    expect(text).toContain(
      `Event: Sync: 4a5b6c7..deadbee, default:deployment/test, default:persistentvolumeclaim/test`,
    );
    expect(text).toContain("Commits:\n\n* deadbee: change test image\n* 4a5b6c7: bump replicas");
    expect(text).toContain("Resources updated:\n\n* default:deployment/test");
    expect(text).toContain(
      "Errors:\nResource default:persistentvolumeclaim/test, file: manifests/test.yaml:\nThe PersistentVolumeClaim",
    );
    expect(fluxcloudMessage(cases["autorelease"]!, linker).blocks[0]).toEqual({
      kind: "text",
      text: [{ kind: "text", text: "Event: Automated release of ghcr.io/stefanprodan/podinfo:dev-def5678" }],
    });
    expect(messageToPlainText(fluxcloudMessage(cases["release"]!, linker))).toContain(
      'Event: Released: ghcr.io/stefanprodan/podinfo:1.2.3 to prod:podinfo, by alice, with message "hotfix for INC-42"',
    );
    expect(messageToPlainText(fluxcloudMessage(cases["policy-commit"]!, linker))).toContain(
      "Event: Commit: 9f8e7d6, prod:podinfo",
    );
  });

  it("applies the commit link template to the title and every commit", () => {
    const gitlab = new CommitLinker("https://gitlab.com/org/config.git", "{repoUrl}/-/commit/{sha}");
    const msg = fluxcloudMessage(cases["sync"]!, gitlab);
    const slack = JSON.stringify(renderSlack(msg));
    expect(slack).toContain(
      `<https://gitlab.com/org/config/-/commit/${ev.SHA_MANUAL}|Applied flux changes to cluster>`,
    );
    expect(slack).toContain(`<https://gitlab.com/org/config/-/commit/${ev.SHA_MANUAL}|deadbee>`);
    expect(slack).toContain(`<https://gitlab.com/org/config/-/commit/${ev.SHA_PREV}|4a5b6c7>`);
    expect(slack).not.toContain("github.com");
  });

  it("fills title and body templates, keeping commit links", () => {
    const msg = fluxcloudMessage(cases["sync"]!, linker, {
      title: "[{cluster}] {event}",
      body: "Changes in {env}:\n{commits}\n\nTouched:\n{resources}",
    });
    const text = messageToPlainText(msg);
    expect(text).toContain("[eu-1] Sync: 4a5b6c7..deadbee");
    expect(text).toContain("Changes in stg:\n* deadbee: change test image");
    expect(text).toContain(
      "Touched:\n* default:deployment/test\n* default:service/test\n* default:configmap/old",
    );
    expect(msg.blocks).toHaveLength(2);
    expect(JSON.stringify(msg)).toContain(`"url":"https://github.com/org/config/commit/${ev.SHA_MANUAL}"`);
  });
});

describe("rich layout", () => {
  const opts = { linker, envOrder: ["dev", "stg", "prod"] };
  const cases: Record<string, Message> = {
    "command-commit": richMessage(viewOf(ev.promote), opts),
    "auto-release": richMessage(viewOf(ev.autoRelease, ev.autoSync, ev.autoHelm), opts),
    sync: richMessage(viewOf(ev.manualSync), opts),
    "sync-errors-detail": detailMessage(viewOf(ev.syncWithErrors), "sync-errors"),
    helm: richMessage(viewOf(ev.promote, ev.promoteHelmFailed), opts),
    "helm-error-detail": detailMessage(viewOf(ev.promote, ev.promoteHelmFailed), "helm-error"),
    "helm-rolled-back": richMessage(viewOf(ev.promote, ev.promoteRolledBack), opts),
    "helm-stalled": richMessage(viewOf(ev.promote, ev.promoteStalled), opts),
    "helm-git-chart": richMessage(viewOf(ev.manualSync, ev.gitChartDeployed), opts),
    lock: richMessage(viewOf(ev.lockCommit), opts),
    policy: richMessage(viewOf(ev.policyCommit), opts),
    reconciler: richMessage(viewOf(ev.reconcilerFailed), opts),
    "reconciler-recovered": richMessage(viewOf(ev.reconcilerFailed, ev.reconcilerRecovered), opts),
  };
  for (const [name, msg] of Object.entries(cases)) {
    it(`golden ${name}`, () => {
      expectGolden(`notifications/rich/${name}.slack.json`, json(renderSlack(msg)));
      expectGolden(`notifications/rich/${name}.teams.json`, json(renderTeams(msg)));
    });
  }

  it("shows old -> new tag, chart, Helm phase and trigger of an automated release in one message", () => {
    const msg = cases["auto-release"]!;
    const facts = msg.blocks.find((x) => x.kind === "facts");
    const byLabel = Object.fromEntries(
      (facts?.kind === "facts" ? facts.facts : []).map((f) => [
        f.label,
        messageToPlainText({ severity: "info", fallbackText: "", blocks: [{ kind: "text", text: f.value }] }),
      ]),
    );
    expect(byLabel).toMatchObject({
      Env: "dev",
      App: "podinfo",
      Tag: "dev-abc1234 → dev-def5678",
      Chart: "podinfo 6.5.0",
      Helm: "podinfo-dev: deployed (revision 12)",
      "Triggered by": "image automation, policy glob:dev-*",
      Cluster: "eu-1",
    });
    expect(msg.severity).toBe("success");
    expect(messageToPlainText(msg)).toContain(
      "committed 810c2e6 → synced: 1 configured → Helm deployed (revision 12)",
    );
  });

  it("offers Rollback, Lock, Promote to the next env and View diff as chat commands", () => {
    const msg = cases["auto-release"]!;
    const actions = msg.blocks.find((x) => x.kind === "actions");
    expect(actions?.kind === "actions" && actions.actions.map((a) => [a.label, a.command])).toEqual([
      ["Rollback", "rollback podinfo dev"],
      ["Lock", "lock podinfo dev"],
      ["Promote to stg", "promote podinfo dev stg"],
      ["View diff", "diff podinfo dev stg"],
    ]);
  });

  it("colours by outcome and does not offer promotion of a failed release", () => {
    const failed = cases["helm"]!;
    expect(failed.severity).toBe("error");
    const actions = failed.blocks.find((x) => x.kind === "actions");
    expect(actions?.kind === "actions" && actions.actions.map((a) => a.label)).toEqual(["Rollback", "Lock"]);
    expect(richMessage(viewOf(ev.promote, ev.promoteRolledBack), opts).severity).toBe("warning");
    expect(cases["command-commit"]!.severity).toBe("info");
  });

  it("shows who approved and the lock owner and reason", () => {
    expect(messageToPlainText(cases["command-commit"]!)).toContain("Approved by: bob");
    expect(messageToPlainText(cases["lock"]!)).toContain(
      "Lock: 🔒 locked by alice: incident INC-42, do not deploy",
    );
    const lockActions = cases["lock"]!.blocks.find((x) => x.kind === "actions");
    expect(lockActions?.kind === "actions" && lockActions.actions.map((a) => a.command)).toContain(
      "unlock podinfo prod",
    );
  });

  it("puts every failed object with its file and error in the detail reply", () => {
    const d = cases["sync-errors-detail"]!;
    expect(d.threadKey).toBe(`release:${ev.SHA_MANUAL}`);
    expect(messageToPlainText(d)).toContain(
      "Resource default:persistentvolumeclaim/test, file: manifests/test.yaml",
    );
    expect(
      d.blocks.some(
        (x) => x.kind === "code" && x.text.startsWith('The PersistentVolumeClaim "test" is invalid'),
      ),
    ).toBe(true);
  });
});

describe("one commit, several Helm releases (a seed commit, an auto-release of several images)", () => {
  const opts = { linker, envOrder: ["dev", "stg", "prod"] };
  const seed: GitopsEvent = { ...ev.manualSync, id: "ev-seed-sync", env: undefined, app: undefined };
  const release = (env: string, phase: "deployed" | "failed"): GitopsEvent => ({
    ...ev.gitChartDeployed,
    id: `ev-seed-${env}`,
    env,
    release: `podinfo-${env}`,
    namespace: env,
    file: `releases/${env}/podinfo.yaml`,
    revision: 1,
    phase,
  });
  const view = viewOf(
    seed,
    release("dev", "deployed"),
    release("stg", "deployed"),
    release("prod", "failed"),
  );
  const msg = richMessage(view, opts);
  const text = messageToPlainText(msg);

  it("lists every release's Helm result, not only the last", () => {
    expect(text).toContain("podinfo-dev in dev: deployed (revision 1)");
    expect(text).toContain("podinfo-stg in stg: deployed (revision 1)");
    expect(text).toContain("podinfo-prod in prod: failed (revision 1)");
    expect(text).toContain("Helm: 2 deployed, 1 failed");
  });

  it("names no single env or app and offers no buttons for one app in one env", () => {
    expect(text).not.toMatch(/Env: dev/);
    expect(msg.blocks.some((x) => x.kind === "actions")).toBe(false);
  });

  it("is coloured by the worst release", () => {
    expect(msg.severity).toBe("error");
  });
});

describe("a Helm result whose commit this process did not make (`cmd` in CI, a push to git)", () => {
  it("still links the commit that caused it", () => {
    const msg = richMessage(viewOf(ev.gitChartDeployed), { linker });
    expect(messageToPlainText(msg)).toContain("change test image");
    expect(JSON.stringify(msg)).toContain(`https://github.com/org/config/commit/${ev.SHA_MANUAL}`);
  });
});
