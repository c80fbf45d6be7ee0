import { z } from "zod";

/** `repo.ssh`: how the config repo is reached over SSH (key, host keys). Part of `repoSchema`. */
export const sshSchema = z
  .strictObject({
    privateKey: z
      .string()
      .optional()
      .describe(
        "Private key (OpenSSH or PEM text) for `ssh://` and `git@host:path` URLs. Use `${ENV_VAR}` interpolation.",
      ),
    privateKeyFile: z
      .string()
      .optional()
      .describe(
        "File holding the private key, e.g. a mounted Secret. It is copied to a private (0600) file, so the Secret's file mode does not matter.",
      ),
    knownHosts: z
      .string()
      .optional()
      .describe("known_hosts lines of the git server (the output of `ssh-keyscan -t ed25519 host`)."),
    knownHostsFile: z
      .string()
      .optional()
      .describe("File with the known_hosts lines, e.g. a mounted ConfigMap or Secret."),
    strictHostKeyChecking: z
      .boolean()
      .default(true)
      .describe(
        "Refuse a server whose host key is not in `knownHosts`/`knownHostsFile` (without either: the user's ~/.ssh/known_hosts). `false` accepts any host key: for testing only.",
      ),
  })
  .superRefine((s, ctx) => {
    if (s.privateKey && s.privateKeyFile)
      ctx.addIssue({
        code: "custom",
        path: ["privateKeyFile"],
        message: "set privateKey or privateKeyFile, not both",
      });
    if (s.knownHosts && s.knownHostsFile)
      ctx.addIssue({
        code: "custom",
        path: ["knownHostsFile"],
        message: "set knownHosts or knownHostsFile, not both",
      });
  })
  .prefault({})
  .describe(
    "SSH transport (native git backend): the key and the server's host key. Host keys are always checked unless `strictHostKeyChecking: false`; ssh never prompts.",
  );
