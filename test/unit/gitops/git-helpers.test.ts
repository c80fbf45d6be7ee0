import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TransientError, UserError } from "../../../src/core/errors.js";
import { Redactor } from "../../../src/core/redact.js";
import { classifyGitFailure } from "../../../src/gitops/git/errors.js";
import { formatCommitMessage, parseCommitMessage } from "../../../src/gitops/git/message.js";
import { Mutex } from "../../../src/gitops/git/mutex.js";
import { normalizeRepoPath } from "../../../src/gitops/git/paths.js";
import { resolveRemote } from "../../../src/gitops/git/remote.js";
import { TreeFileAccess } from "../../../src/gitops/git/tree-file-access.js";
import { unifiedDiff } from "../../../src/gitops/git/unified-diff.js";

describe("commit messages and trailers", () => {
  it("formats subject, body and trailers in git trailer format and parses them back", () => {
    const msg = formatCommitMessage({
      subject: "[prod/podinfo] promote stg-9ij63o4c from stg",
      body: "Why: tested in stg.",
      trailers: [
        ["Gitops-Action", "promote"],
        ["Approved-By", "slack:U1 (bob)"],
        ["Approved-By", "slack:U2\n(carol)"],
      ],
    });
    expect(msg).toBe(
      "[prod/podinfo] promote stg-9ij63o4c from stg\n\nWhy: tested in stg.\n\nGitops-Action: promote\nApproved-By: slack:U1 (bob)\nApproved-By: slack:U2 (carol)\n",
    );
    expect(parseCommitMessage(msg)).toEqual({
      subject: "[prod/podinfo] promote stg-9ij63o4c from stg",
      body: "Why: tested in stg.",
      trailers: [
        ["Gitops-Action", "promote"],
        ["Approved-By", "slack:U1 (bob)"],
        ["Approved-By", "slack:U2 (carol)"],
      ],
    });
    expect(() => formatCommitMessage({ subject: "x", trailers: [["Bad Key", "v"]] })).toThrow(/trailer key/);
    expect(parseCommitMessage("just a subject\n")).toEqual({
      subject: "just a subject",
      body: "",
      trailers: [],
    });
    expect(parseCommitMessage("s\n\nnot: a trailer block\nbecause this line is prose\n").trailers).toEqual(
      [],
    );
    expect(parseCommitMessage("s\n\nKey: folded\n  value\n").trailers).toEqual([["Key", "folded value"]]);
  });

  it("round-trips arbitrary subjects, bodies and trailers (property)", () => {
    const key = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,15}$/);
    const value = fc.string({ maxLength: 40 }).map((s) =>
      s
        .replace(/[\u0000-\u001f\u007f]+/g, " ")
        .replace(/ {2,}/g, " ")
        .trim(),
    );
    const subject = fc
      .string({ minLength: 1, maxLength: 60 })
      .filter((s) => /\S/.test(s.replace(/[\u0000-\u001f\u007f]/g, "")));
    fc.assert(
      fc.property(subject, fc.array(fc.tuple(key, value), { maxLength: 5 }), (s, trailers) => {
        const parsed = parseCommitMessage(
          formatCommitMessage({ subject: s, body: "Some body.\n\nSecond paragraph.", trailers }),
        );
        expect(parsed.trailers).toEqual(trailers);
        expect(parsed.body).toBe("Some body.\n\nSecond paragraph.");
        expect(parsed.subject).not.toContain("\n");
      }),
    );
  });
});

describe("normalizeRepoPath", () => {
  it("accepts repo-relative paths and refuses everything that could leave the root", () => {
    expect(normalizeRepoPath("releases/dev/app.yaml")).toBe("releases/dev/app.yaml");
    expect(normalizeRepoPath("releases/")).toBe("releases");
    expect(normalizeRepoPath("", { allowRoot: true })).toBe("");
    for (const bad of [
      "",
      "..",
      "../a",
      "a/../../b",
      "/etc/passwd",
      "C:\\x",
      "a\\b",
      "a\u0000",
      "a\nb",
      "./a",
      "a//b",
      ".git/config",
      "a/.GIT/x",
      "a\u0085b",
      ".git./x",
      ".git /x",
      ".g\u200cit/x",
      "GIT~1/config",
    ]) {
      expect(() => normalizeRepoPath(bad), bad).toThrow(UserError);
    }
  });
});

describe("TreeFileAccess", () => {
  const files = new Map([
    ["releases/dev/app.yaml", { mode: "100644", oid: "a".repeat(40) }],
    ["releases/dev/run.sh", { mode: "100755", oid: "b".repeat(40) }],
    ["link", { mode: "120000", oid: "c".repeat(40) }],
    ["README.md", { mode: "100644", oid: "d".repeat(40) }],
  ]);
  const blobs: Record<string, string> = { ["a".repeat(40)]: "tag: 1\n", ["d".repeat(40)]: "hi\n" };
  const view = () => new TreeFileAccess(files, async (oid) => Buffer.from(blobs[oid] ?? ""));

  it("is copy-on-write: reads see earlier writes of the change, the base stays untouched", async () => {
    const v = view();
    expect(await v.read("releases/dev/app.yaml")).toBe("tag: 1\n");
    await v.write("releases/dev/app.yaml", "tag: 2\n");
    await v.write("releases/stg/app.yaml", "tag: 3\n");
    await v.remove("README.md");
    await v.remove("nope.yaml");
    expect(await v.read("releases/dev/app.yaml")).toBe("tag: 2\n");
    expect(await v.read("README.md")).toBeUndefined();
    expect(await v.list("releases")).toEqual([
      "releases/dev/app.yaml",
      "releases/dev/run.sh",
      "releases/stg/app.yaml",
    ]);
    expect(await v.list("")).not.toContain("link");
    expect([...v.changes().keys()]).toEqual(["releases/dev/app.yaml", "releases/stg/app.yaml", "README.md"]);
    expect(await view().read("releases/dev/app.yaml")).toBe("tag: 1\n");
  });

  it("refuses symlinks, writing over a directory, and files used as directories", async () => {
    const v = view();
    await expect(v.read("link")).rejects.toMatchObject({ code: "bad-path" });
    await expect(v.write("link/x", "x")).rejects.toMatchObject({ code: "bad-path" });
    await expect(v.write("releases", "x")).rejects.toMatchObject({ code: "bad-path" });
    await expect(v.remove("releases/dev")).rejects.toMatchObject({ code: "bad-path" });
    await expect(v.write("README.md/x", "x")).rejects.toMatchObject({ code: "bad-path" });
    await v.remove("README.md");
    await v.write("README.md/x", "now a directory");
    expect(await v.read("README.md/x")).toBe("now a directory");
  });
});

describe("resolveRemote", () => {
  it("moves credentials out of the URL and knows every form of the secret", () => {
    const r = resolveRemote({ url: "https://alice:p%40ss@git.example.com/org/config.git", auth: {} });
    expect(r.kind).toBe("http");
    expect(r.url).toBe("https://git.example.com/org/config.git");
    expect(r.publicUrl).not.toContain("p%40ss");
    expect(r.credentials).toEqual({ username: "alice", password: "p@ss" });
    expect(r.secrets).toEqual(
      expect.arrayContaining(["p@ss", "p%40ss", Buffer.from("alice:p@ss").toString("base64")]),
    );
    const t = resolveRemote({ url: "https://git.example.com/x.git", auth: { token: "ghp_abc" } });
    expect(t.credentials).toEqual({ username: "git", password: "ghp_abc" });
    expect(resolveRemote({ url: "./demo", auth: {} }, "/srv")).toMatchObject({
      kind: "local",
      url: "/srv/demo",
    });
    // Issue 11 item 7 changes this: SSH URLs are served now (the old assertion expected a
    // UserError for git@github.com:org/x.git). Schemes we cannot serve still throw.
    expect(() => resolveRemote({ url: "git://github.com/org/x.git", auth: {} })).toThrow(UserError);
  });

  it("reads SSH URLs (ssh://, git+ssh://, scp-like) and refuses hosts git would read as an option", () => {
    expect(resolveRemote({ url: "git@github.com:org/x.git", auth: {} })).toMatchObject({
      kind: "ssh",
      url: "git@github.com:org/x.git",
      publicUrl: "git@github.com:org/x.git",
      ssh: { strictHostKeyChecking: true },
    });
    expect(resolveRemote({ url: "ssh://git@git.example.com:2222/org/x.git", auth: {} })).toMatchObject({
      kind: "ssh",
      url: "ssh://git@git.example.com:2222/org/x.git",
    });
    expect(resolveRemote({ url: "git+ssh://git:pw@h/x.git", auth: {} }).url).toBe("ssh://git@h/x.git");
    for (const bad of ["ssh://-oProxyCommand=x/x.git", "ssh://git@h", "git@-oProxyCommand=x:y"])
      expect(() => resolveRemote({ url: bad, auth: {} }), bad).toThrow(UserError);
  });
});

describe("classifyGitFailure", () => {
  const ctx = {
    op: "fetch",
    publicUrl: "https://h/x.git",
    branch: "main",
    redactor: new Redactor(["hunter2-secret"]),
  };
  it("maps git's messages to user and transient errors, redacted", () => {
    const auth = classifyGitFailure(
      "fatal: Authentication failed for 'https://u:hunter2-secret@h/x.git/'",
      ctx,
    );
    expect(auth).toBeInstanceOf(UserError);
    expect(auth).toMatchObject({ code: "repo-auth" });
    expect(auth.message).not.toContain("hunter2");
    expect(classifyGitFailure("fatal: couldn't find remote ref refs/heads/main", ctx)).toMatchObject({
      code: "repo-branch",
    });
    expect(classifyGitFailure("x", ctx, 404)).toMatchObject({ code: "repo-not-found" });
    const down = classifyGitFailure(
      "fatal: unable to access: Failed to connect to h port 443: Connection refused hunter2-secret",
      ctx,
    );
    expect(down).toBeInstanceOf(TransientError);
    expect(down.message).not.toContain("hunter2");
    expect(classifyGitFailure("something odd", ctx)).not.toBeInstanceOf(UserError);
  });
});

describe("Mutex", () => {
  it("runs calls one at a time in order, surviving failures", async () => {
    const m = new Mutex();
    const order: string[] = [];
    let running = 0;
    const task = (name: string, fail = false) =>
      m.run(async () => {
        running++;
        expect(running).toBe(1);
        await new Promise((r) => setTimeout(r, 2));
        order.push(name);
        running--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task("a"), task("b", true), task("c")]);
    expect(order).toEqual(["a", "b", "c"]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});

/** Applies a unified diff of one file to `old` (test helper: proves the hunks are right). */
function applyPatch(old: string, patch: string): string {
  const a = old === "" ? [] : old.split(/(?<=\n)/);
  const out: string[] = [];
  let ai = 0;
  const lines = patch.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@/.exec(lines[i] as string);
    if (!h) continue;
    const start = Number(h[1]) - (h[2] === "0" ? 0 : 1);
    while (ai < start) out.push(a[ai++] as string);
    for (i++; i < lines.length && !(lines[i] as string).startsWith("@@"); i++) {
      const l = lines[i] as string;
      const noNl = lines[i + 1] === "\\ No newline at end of file";
      const text = l.slice(1) + (noNl ? "" : "\n");
      if (l.startsWith(" ")) {
        out.push(text);
        ai++;
      } else if (l.startsWith("-")) ai++;
      else if (l.startsWith("+")) out.push(text);
      if (noNl) i++;
    }
    i--;
  }
  while (ai < a.length) out.push(a[ai++] as string);
  return out.join("");
}

describe("unifiedDiff", () => {
  it("renders git-style headers for new, deleted and changed files", () => {
    const d = unifiedDiff([
      {
        path: "a.yaml",
        oldOid: "1".repeat(40),
        newOid: "2".repeat(40),
        oldMode: "100644",
        newMode: "100644",
        oldContent: Buffer.from("x: 1\ny: 2\n"),
        newContent: Buffer.from("x: 1\ny: 3\n"),
      },
      { path: "new.yaml", newOid: "3".repeat(40), newMode: "100644", newContent: Buffer.from("n\n") },
      { path: "gone.yaml", oldOid: "4".repeat(40), oldMode: "100644", oldContent: Buffer.from("g") },
    ]);
    expect(d).toBe(
      "diff --git a/a.yaml b/a.yaml\nindex 1111111..2222222 100644\n--- a/a.yaml\n+++ b/a.yaml\n@@ -1,2 +1,2 @@\n x: 1\n-y: 2\n+y: 3\n" +
        "diff --git a/new.yaml b/new.yaml\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/new.yaml\n@@ -0,0 +1 @@\n+n\n" +
        "diff --git a/gone.yaml b/gone.yaml\ndeleted file mode 100644\nindex 4444444..0000000\n--- a/gone.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-g\n\\ No newline at end of file\n",
    );
  });

  it("produces hunks that turn the old text into the new one (property)", () => {
    const text = fc
      .array(fc.constantFrom("a\n", "b\n", "c\n", "key: 1\n", "key: 2\n", "\n"), { maxLength: 30 })
      .map((l) => l.join(""));
    fc.assert(
      fc.property(text, text, fc.boolean(), (a, b, cut) => {
        const nb = cut && b.endsWith("\n") ? b.slice(0, -1) : b;
        if (a === nb) return;
        const patch = unifiedDiff([
          {
            path: "f",
            oldContent: Buffer.from(a),
            newContent: Buffer.from(nb),
            oldMode: "100644",
            newMode: "100644",
          },
        ]);
        expect(applyPatch(a, patch)).toBe(nb);
      }),
      { numRuns: 300 },
    );
  });
});

describe("git object encoding", () => {
  it("hashes and orders trees exactly like git", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { objectId, parseTree, serializeTree, writeLooseObject } = await import(
      "../../../src/gitops/git/objects.js"
    );
    const run = promisify(execFile);
    const dir = await mkdtemp(join(tmpdir(), "objects-test-"));
    try {
      await run("git", ["init", "-q", "--bare", dir]);
      const env = { ...process.env, GIT_DIR: dir };
      const blob = await writeLooseObject(dir, "blob", Buffer.from("x: 1\n"));
      expect(blob).toBe(objectId("blob", Buffer.from("x: 1\n")));
      const sub = await writeLooseObject(
        dir,
        "tree",
        serializeTree([{ name: "f", mode: "100644", oid: blob }]),
      );
      // "a.b" sorts before the tree "a" (compared as "a/"), and "a-" before both.
      const entries = [
        { name: "a", mode: "040000", oid: sub },
        { name: "a.b", mode: "100644", oid: blob },
        { name: "a-", mode: "100755", oid: blob },
        { name: "l", mode: "120000", oid: blob },
      ];
      const tree = await writeLooseObject(dir, "tree", serializeTree(entries));
      const mktreeInput = entries
        .map((e) => `${e.mode} ${e.mode === "040000" ? "tree" : "blob"} ${e.oid}\t${e.name}\n`)
        .join("");
      const viaGit = await new Promise<string>((resolve, reject) => {
        const child = execFile("git", ["mktree"], { env }, (err, out) =>
          err ? reject(err) : resolve(out.trim()),
        );
        child.stdin?.end(mktreeInput);
      });
      expect(tree).toBe(viaGit);
      const { stdout } = await run("git", ["cat-file", "-p", tree], { env });
      expect(stdout.split("\n")[0]).toContain("a-");
      const { stdout: raw } = await run("git", ["cat-file", "tree", tree], { env, encoding: "buffer" });
      expect(parseTree(raw as unknown as Buffer).map((e) => e.name)).toEqual(["a-", "a.b", "a", "l"]);
      await run("git", ["fsck", "--strict", "--no-dangling"], { env });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
