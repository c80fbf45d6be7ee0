// `node --import ./test/helpers/loaded-packages.mjs …`: logs every npm package the process imports.
import { register } from "node:module";

register("./loaded-packages-hook.mjs", import.meta.url);
