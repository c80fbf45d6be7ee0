/**
 * The activity section: the period's commits to the config repo by action and by person, with
 * links (the `Gitops-Action` and `Requested-By` trailers; other commits count as `commit` by
 * their author). Commits for envs the report does not show are left out.
 */
import { b, code, link, type RichText, t } from "../../core/message.js";
import type { ReportSection } from "../../core/report.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import { parseTrailerBlock, readTrailers } from "../../gitops/trailers.js";
import { lines, when } from "../format.js";

export interface ActivityCommit {
  sha: string;
  url?: string;
  time: string;
  action: string;
  by: string;
  envs: string[];
  subject: string;
}

export interface ActivityData {
  from: string;
  to: string;
  byAction: Record<string, number>;
  byPerson: Record<string, number>;
  commits: ActivityCommit[];
  /** True when the log was cut at the scan limit (older commits of the period not counted). */
  capped: boolean;
}

export interface ActivityDeps {
  repo: Pick<ConfigRepo, "log">;
  commitUrl(sha: string): string | undefined;
  /** How many commits to read back at most (default 500). */
  scan?: number;
}

const count = (xs: string[]) =>
  Object.fromEntries(
    [...new Set(xs)]
      .map((x) => [x, xs.filter((y) => y === x).length] as const)
      .sort((a, z) => z[1] - a[1] || a[0].localeCompare(z[0])),
  );

const summary = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");

export function activitySection(deps: ActivityDeps): ReportSection<ActivityData> {
  return {
    id: "activity",
    title: "Activity",
    async collect(scope) {
      const scan = deps.scan ?? 500;
      const log = await deps.repo.log({ limit: scan });
      const from = scope.period.from.getTime();
      const to = scope.period.to.getTime();
      const commits: ActivityCommit[] = [];
      for (const c of log) {
        const at = Date.parse(c.committer.time || c.author.time);
        if (at <= from || at > to) continue;
        const tr = readTrailers(c.trailers.length > 0 ? c.trailers : parseTrailerBlock(c.body));
        if (tr.envs.length > 0 && !tr.envs.some((e) => scope.envs.includes(e))) continue;
        const url = deps.commitUrl(c.sha);
        commits.push({
          sha: c.sha,
          ...(url ? { url } : {}),
          time: c.author.time,
          action: tr.action ?? "commit",
          by: tr.requestedBy?.name ?? tr.requestedBy?.id ?? c.author.name,
          envs: tr.envs,
          subject: c.subject,
        });
      }
      return {
        from: scope.period.from.toISOString(),
        to: scope.period.to.toISOString(),
        byAction: count(commits.map((c) => c.action)),
        byPerson: count(commits.map((c) => c.by)),
        commits,
        capped: log.length >= scan,
      };
    },
    problems: () => [],
    count: (d) => d.commits.length,
    blocks(d, opts) {
      if (d.commits.length === 0) return [{ kind: "context", text: [t("No commits in this period.")] }];
      const items = d.commits.map(
        (c): RichText => [
          c.url ? link(c.sha.slice(0, 7), c.url) : code(c.sha.slice(0, 7)),
          t(` ${c.subject} · ${c.by}`),
        ],
      );
      return [
        {
          kind: "facts",
          facts: [
            { label: "commits", value: [b(String(d.commits.length))] },
            { label: "by action", value: [t(summary(d.byAction))] },
            { label: "by person", value: [t(summary(d.byPerson))] },
          ],
        },
        { kind: "text", text: lines(items, opts, "commits") },
      ];
    },
    text(d) {
      if (d.commits.length === 0) return "No commits in this period.";
      return [
        `${d.commits.length} commit(s); by action: ${summary(d.byAction)}; by person: ${summary(d.byPerson)}`,
        ...d.commits.map(
          (c) => `  ${c.sha.slice(0, 7)} ${when(c.time)} ${c.by}: ${c.subject}${c.url ? ` <${c.url}>` : ""}`,
        ),
        ...(d.capped ? ["  (only the newest commits were read)"] : []),
      ].join("\n");
    },
  };
}
