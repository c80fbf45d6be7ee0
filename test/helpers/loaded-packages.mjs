// `node --import ./test/helpers/loaded-packages.mjs …`: logs every npm package the process imports,
// through ESM `import` (the resolve hook) and CommonJS `require` (which the ESM hooks do not see on
// every Node.js version: tsx may load a module as CommonJS, as Node 22 does here).
import Module, { register } from "node:module";

register("./loaded-packages-hook.mjs", import.meta.url);

const seen = new Set();
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const file = resolveFilename.apply(this, args);
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(String(file));
  if (m?.[1] && !seen.has(m[1])) {
    seen.add(m[1]);
    process.stderr.write(`loaded-package ${m[1]}\n`);
  }
  return file;
};
