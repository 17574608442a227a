import {
  customCtx,
  customMutation,
  customQuery,
} from "convex-helpers/server/customFunctions";
import { mutation, query } from "../_generated/server";
import { requireUser } from "../model/users";

/** A public query that requires a signed-in user; `ctx.user` is their profile. */
export const authedQuery = customQuery(
  query,
  customCtx(async (ctx) => {
    const user = await requireUser(ctx);
    return { user };
  }),
);

/** A public mutation that requires a signed-in user; `ctx.user` is their profile. */
export const authedMutation = customMutation(
  mutation,
  customCtx(async (ctx) => {
    const user = await requireUser(ctx);
    return { user };
  }),
);
