import { ConvexError, v } from "convex/values";
import { mutation, query } from "./_generated/server";
import { authedQuery } from "./lib/functions";
import { assertSameOrg } from "./model/users";

/** Public club page (clubhub.example/c/:slug). */
export const getBySlug = query({
  args: { slug: v.string() },
  handler: async (ctx, args) => {
    const org = await ctx.db
      .query("organizations")
      .withIndex("by_slug", (q) => q.eq("slug", args.slug.toLowerCase()))
      .unique();
    return org && { _id: org._id, name: org.name, slug: org.slug };
  },
});

/** Sign-up flow: a new club and its first admin. */
export const create = mutation({
  args: { name: v.string(), slug: v.string(), timezone: v.string() },
  handler: async (ctx, args) => {
    const identity = await ctx.auth.getUserIdentity();
    if (identity === null) {
      throw new ConvexError("Sign in to create a club");
    }
    const slug = args.slug.toLowerCase();
    if (!/^[a-z0-9-]{3,40}$/.test(slug)) {
      throw new ConvexError("Use 3 to 40 letters, digits or dashes");
    }
    const taken = await ctx.db
      .query("organizations")
      .withIndex("by_slug", (q) => q.eq("slug", slug))
      .first();
    if (taken !== null) {
      throw new ConvexError("That address is taken");
    }
    const now = Date.now();
    const orgId = await ctx.db.insert("organizations", {
      name: args.name,
      slug,
      plan: "free",
      timezone: args.timezone,
      createdAt: now,
    });
    await ctx.db.insert("users", {
      authId: identity.subject,
      orgId,
      name: identity.name ?? identity.email ?? "Admin",
      email: identity.email ?? "",
      role: "admin",
      createdAt: now,
    });
    return orgId;
  },
});

/** Coach picker used when creating teams and sessions. */
export const listCoaches = authedQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    const coaches = await ctx.db
      .query("coaches")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .take(100);
    return coaches
      .filter((c) => c.active)
      .map((c) => ({ _id: c._id, name: c.displayName, specialty: c.specialty ?? null }));
  },
});
