import { paginationOptsValidator } from "convex/server";
import { ConvexError, v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, internalQuery } from "./_generated/server";
import { authedMutation, authedQuery } from "./lib/functions";
import { normalizeAlias } from "./model/aliases";
import { recordAudit } from "./model/audit";
import { getMedicalSummary } from "./model/medical";
import { aliasesFor, resolvePlayer } from "./model/players";
import { assertRole, assertSameOrg } from "./model/users";

const playerStatus = v.union(
  v.literal("active"),
  v.literal("inactive"),
  v.literal("injured"),
);

/** Roster page of the club admin screen. */
export const list = authedQuery({
  args: {
    orgId: v.id("organizations"),
    status: playerStatus,
    paginationOpts: paginationOptsValidator,
  },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    return await ctx.db
      .query("players")
      .withIndex("by_orgId_and_status", (q) =>
        q.eq("orgId", args.orgId).eq("status", args.status),
      )
      .order("desc")
      .paginate(args.paginationOpts);
  },
});

export const search = authedQuery({
  args: { orgId: v.id("organizations"), text: v.string() },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    if (args.text.trim() === "") {
      return [];
    }
    return await ctx.db
      .query("players")
      .withSearchIndex("search_fullName", (q) =>
        q.search("fullName", args.text).eq("orgId", args.orgId),
      )
      .take(20);
  },
});

/** Player profile page: the player, their guardian, medical info, insights. */
export const get = authedQuery({
  args: { playerId: v.id("players") },
  handler: async (ctx, args) => {
    const player = await ctx.db.get(args.playerId);
    if (player === null) {
      return null;
    }
    assertSameOrg(ctx.user, player.orgId);
    const guardian = player.guardianUserId
      ? await ctx.db.get(player.guardianUserId)
      : null;
    const canSeeMedical = ctx.user.role === "admin" || ctx.user.role === "coach";
    const medical = canSeeMedical
      ? await getMedicalSummary(ctx.db, player._id)
      : null;
    const recentInsights = await ctx.db
      .query("insights")
      .withIndex("by_playerId", (q) => q.eq("playerId", player._id))
      .order("desc")
      .take(5);
    return {
      ...player,
      guardian: guardian && { name: guardian.name, email: guardian.email },
      medical,
      recentInsights: recentInsights.map(({ embedding: _e, ...rest }) => rest),
    };
  },
});

/** The signed-in player's own record (players may have an account). */
export const mine = authedQuery({
  args: {},
  handler: async (ctx) => {
    return await ctx.db
      .query("players")
      .withIndex("by_userId", (q) => q.eq("userId", ctx.user._id))
      .first();
  },
});

/**
 * The "who did you mean?" step of the session report form: a coach types a
 * few names or shirt numbers and we resolve each one.
 */
export const resolveClaims = authedQuery({
  args: {
    orgId: v.id("organizations"),
    claims: v.array(
      v.object({
        playerId: v.optional(v.id("players")),
        jerseyNumber: v.optional(v.number()),
        name: v.optional(v.string()),
      }),
    ),
  },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    const resolved: Array<{ input: string; player: Doc<"players"> | null }> = [];
    for (const claim of args.claims) {
      const player = await resolvePlayer(ctx, { ...claim, orgId: args.orgId });
      resolved.push({
        input: claim.name ?? String(claim.jerseyNumber ?? claim.playerId),
        player,
      });
    }
    return resolved;
  },
});

export const create = authedMutation({
  args: {
    orgId: v.id("organizations"),
    firstName: v.string(),
    lastName: v.string(),
    dateOfBirth: v.string(),
    position: v.optional(v.string()),
    jerseyNumber: v.optional(v.number()),
    guardianUserId: v.optional(v.id("users")),
  },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    assertRole(ctx.user, ["admin", "coach"]);
    const playerId = await ctx.db.insert("players", {
      ...args,
      fullName: `${args.firstName} ${args.lastName}`,
      status: "active",
      createdAt: Date.now(),
    });
    const player = (await ctx.db.get(playerId))!;
    for (const alias of aliasesFor(player)) {
      await ctx.db.insert("playerAliases", {
        orgId: args.orgId,
        alias,
        playerId,
        source: "manual",
      });
    }
    await recordAudit(ctx, {
      orgId: args.orgId,
      actorId: ctx.user._id,
      action: "player.create",
      entityType: "players",
      entityId: playerId,
    });
    return playerId;
  },
});

export const setStatus = authedMutation({
  args: { playerId: v.id("players"), status: playerStatus },
  handler: async (ctx, args) => {
    const player = await ctx.db.get(args.playerId);
    if (player === null) {
      throw new ConvexError("Player not found");
    }
    assertSameOrg(ctx.user, player.orgId);
    assertRole(ctx.user, ["admin", "coach"]);
    await ctx.db.patch(player._id, { status: args.status });
  },
});

// ---- internal functions used by the voice-note and insight actions ----

export const getForInsight = internalQuery({
  args: { playerId: v.id("players") },
  handler: async (ctx, args) => {
    const player = await ctx.db.get(args.playerId);
    if (player === null) {
      return null;
    }
    return { _id: player._id, name: player.fullName, position: player.position ?? null };
  },
});

export const lookupAlias = internalQuery({
  args: { orgId: v.id("organizations"), alias: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db
      .query("playerAliases")
      .withIndex("by_orgId_and_alias", (q) =>
        q.eq("orgId", args.orgId).eq("alias", normalizeAlias(args.alias)),
      )
      .unique();
  },
});

/** Batched form of lookupAlias: one function run for all mentions of a note. */
export const lookupAliases = internalQuery({
  args: { orgId: v.id("organizations"), aliases: v.array(v.string()) },
  handler: async (ctx, args) => {
    const wanted = new Set(args.aliases.map(normalizeAlias));
    const known = await ctx.db
      .query("playerAliases")
      .withIndex("by_orgId_and_alias", (q) => q.eq("orgId", args.orgId))
      .collect();
    const result: Record<string, string> = {};
    for (const row of known) {
      if (wanted.has(row.alias)) {
        result[row.alias] = row.playerId;
      }
    }
    return result;
  },
});

export const searchByName = internalQuery({
  args: { orgId: v.id("organizations"), name: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db
      .query("players")
      .withSearchIndex("search_fullName", (q) =>
        q.search("fullName", args.name).eq("orgId", args.orgId),
      )
      .first();
  },
});

export const storeAlias = internalMutation({
  args: {
    orgId: v.id("organizations"),
    alias: v.string(),
    playerId: v.id("players"),
  },
  handler: async (ctx, args) => {
    const alias = normalizeAlias(args.alias);
    const existing = await ctx.db
      .query("playerAliases")
      .withIndex("by_orgId_and_alias", (q) =>
        q.eq("orgId", args.orgId).eq("alias", alias),
      )
      .unique();
    if (existing === null) {
      await ctx.db.insert("playerAliases", {
        orgId: args.orgId,
        alias,
        playerId: args.playerId,
        source: "voice",
      });
    }
  },
});
