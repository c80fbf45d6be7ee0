// A module resolve hook that reports, once each, the npm packages a process imports (to stderr as
// `loaded-package <name>`). Registered by loaded-packages.mjs with `node --import`.
const seen = new Set();
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(result.url);
  if (m?.[1] && !seen.has(m[1])) {
    seen.add(m[1]);
    process.stderr.write(`loaded-package ${m[1]}\n`);
  }
  return result;
}
