import * as meshTailor from "../keys/mesh-tailor.js";
import { setUnlessUserSet } from "./edits.js";
import { unchanged, type Mutation } from "./types.js";

/** Opts a selected service's pods into the Host-passthrough Lua filter. */
export const hostPassthrough: Mutation = {
  name: "host-passthrough",
  sidecarOnly: true,
  apply(pod, { decision }) {
    const mode = decision.entry?.hostPassthrough ?? "none";
    return mode === "none" ? unchanged(pod) : setUnlessUserSet(pod, "labels", meshTailor.HOST_PASSTHROUGH, mode);
  },
};
