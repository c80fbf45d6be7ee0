import { StalledError } from "../../core/errors.js";
import type { BackendOptions } from "./native-backend.js";

/** Placeholder until the isomorphic-git backend lands (issue #2). */
export class IsomorphicGitBackend {
  constructor(_o: BackendOptions) {
    throw new StalledError(
      "the isomorphic-git backend is not available yet; install git or use backend native",
    );
  }
}
