/**
 * The service entry points, for embedding and tests: the composition root lives in `app/serve.ts`
 * (with the builders of `app/`); the command line is `cli.ts`.
 */
export { type Service, type ServiceDeps, serve, startService } from "./app/serve.js";
