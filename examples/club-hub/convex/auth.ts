import { ConvexError, v } from "convex/values";
import { components } from "./_generated/api";
import { mutation, query } from "./_generated/server";
import { authedQuery } from "./lib/functions";
import { assertRole, assertSameOrg } from "./model/users";

/**
 * Better Auth user record as the component's adapter returns it. The adapter
 * maps Better Auth's `id` to the Convex document id, stored as `_id`.
 */
type AuthUser = {
  _id: string;
  name: string;
  email: string;
  emailVerified: boolean;
  image?: string | null;
  createdAt: number;
  updatedAt: number;
};

/** Account settings page: the Better Auth record behind a profile. */
export const getAuthUser = query({
  args: { userId: v.string() },
  handler: async (ctx, args): Promise<AuthUser | null> => {
    return await ctx.runQuery(components.betterAuth.adapter.findOne, {
      model: "user",
      where: [{ field: "id", value: args.userId }],
    });
  },
});

/** Admin "people" page: which members have verified their email. */
export const verificationStatus = authedQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    assertRole(ctx.user, ["admin"]);
    const members = await ctx.db
      .query("users")
      .withIndex("by_orgId_and_role", (q) => q.eq("orgId", args.orgId))
      .take(200);
    const result: { page: AuthUser[] } = await ctx.runQuery(
      components.betterAuth.adapter.findMany,
      {
        model: "user",
        where: [
          { field: "id", operator: "in", value: members.map((m) => m.authId) },
        ],
        paginationOpts: { cursor: null, numItems: 200 },
      },
    );
    const verified = new Set(
      result.page.filter((u) => u.emailVerified).map((u) => u._id),
    );
    return members.map((m) => ({
      userId: m._id,
      name: m.name,
      email: m.email,
      verified: verified.has(m.authId),
    }));
  },
});

/** Called by the client after sign-in: copy name/email changes to the profile. */
export const syncProfile = mutation({
  args: {},
  handler: async (ctx) => {
    const identity = await ctx.auth.getUserIdentity();
    if (identity === null) {
      throw new ConvexError("Not signed in");
    }
    const authUser: AuthUser | null = await ctx.runQuery(
      components.betterAuth.adapter.findOne,
      {
        model: "user",
        where: [{ field: "_id", value: identity.subject }],
      },
    );
    if (authUser === null) {
      throw new ConvexError("Unknown Better Auth user");
    }
    const profile = await ctx.db
      .query("users")
      .withIndex("by_authId", (q) => q.eq("authId", identity.subject))
      .unique();
    if (profile === null) {
      return null;
    }
    if (profile.name !== authUser.name || profile.email !== authUser.email) {
      await ctx.db.patch(profile._id, {
        name: authUser.name,
        email: authUser.email,
        avatarUrl: authUser.image ?? undefined,
      });
    }
    return profile._id;
  },
});

/**
 * Support tool: a Better Auth session looked up from the app. The session table
 * lives in the component, so the app's `ctx.db` is cast to reach it.
 */
export const sessionByToken = query({
  args: { token: v.string() },
  handler: async (ctx, args) => {
    const db = ctx.db as any;
    return await db
      .query("session")
      .filter((q: any) => q.eq(q.field("token"), args.token))
      .first();
  },
});
