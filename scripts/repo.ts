import { fileURLToPath } from "node:url";

/** The repository's root, from the compiled file in dist/scripts. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
