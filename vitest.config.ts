import { defineConfig } from "vitest/config";

// Three suites (see README "Testing"):
//  unit        pure code and in-process fakes only, fast
//  integration real git server, real registry, real Bolt/botbuilder over loopback HTTP
//  e2e         real kube-apiserver + etcd and real helm (needs `npm run e2e:tools` first)
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 20_000 } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
