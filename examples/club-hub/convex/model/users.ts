import { ConvexError } from "convex/values";
import type { Doc, Id } from "../_generated/dataModel";
import type { QueryCtx } from "../_generated/server";

/** The signed-in user's profile, or null when signed out / not yet synced. */
export async function getCurrentUser(ctx: QueryCtx): Promise<Doc<"users"> | null> {
  const identity = await ctx.auth.getUserIdentity();
  if (identity === null) {
    return null;
  }
  return await ctx.db
    .query("users")
    .withIndex("by_authId", (q) => q.eq("authId", identity.subject))
    .unique();
}

export async function requireUser(ctx: QueryCtx): Promise<Doc<"users">> {
  const user = await getCurrentUser(ctx);
  if (user === null) {
    throw new ConvexError("Not signed in");
  }
  return user;
}

export type Profile = {
  user: Doc<"users">;
  coach: Doc<"coaches"> | null;
  displayName: string;
};

/** A user together with their coach record, if they coach in the club. */
export async function getProfile(
  ctx: QueryCtx,
  userId: Id<"users">,
): Promise<Profile | null> {
  const user = await ctx.db.get(userId);
  if (user === null) {
    return null;
  }
  const coach = await ctx.db
    .query("coaches")
    .withIndex("by_userId", (q) => q.eq("userId", userId))
    .first();
  return { user, coach, displayName: displayName(user, coach) };
}

/** Pure formatting helper: reads nothing from the database. */
export function displayName(
  user: Pick<Doc<"users">, "name" | "email">,
  coach?: Pick<Doc<"coaches">, "displayName"> | null,
): string {
  if (coach?.displayName) {
    return coach.displayName;
  }
  const trimmed = user.name.trim();
  return trimmed.length > 0 ? trimmed : user.email.split("@")[0];
}

export function assertSameOrg(user: Doc<"users">, orgId: Id<"organizations">) {
  if (user.orgId !== orgId) {
    throw new ConvexError("You are not a member of this club");
  }
}

export function assertRole(
  user: Doc<"users">,
  allowed: ReadonlyArray<Doc<"users">["role"]>,
) {
  if (!allowed.includes(user.role)) {
    throw new ConvexError(`This needs one of: ${allowed.join(", ")}`);
  }
}
