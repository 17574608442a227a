import { v } from "convex/values";
import type { Id } from "./_generated/dataModel";
import { internal } from "./_generated/api";
import { internalMutation, internalQuery } from "./_generated/server";
import { normalizeAlias } from "./model/aliases";
import { getProfile } from "./model/users";
import { type ReportCtx, countEnrollments, teamsOfOrg } from "./model/reports";

/** Platform operators' weekly numbers: clubs and their member counts. */
export const platformStats = internalQuery({
  args: {},
  handler: async (ctx) => {
    const orgs = await ctx.db.query("organizations").collect();
    const stats = [];
    for (const org of orgs) {
      const members = (
        await ctx.db
          .query("users")
          .withIndex("by_orgId_and_role", (q) => q.eq("orgId", org._id))
          .collect()
      ).length;
      stats.push({ org: org.name, plan: org.plan, members });
    }
    return stats;
  },
});

/** CSV export of every team's roster with guardians, for the club secretary. */
export const exportOrgRoster = internalQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    const teams = await ctx.db
      .query("teams")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .collect();
    const lines = ["team,player,dateOfBirth,guardian,guardianEmail"];
    for (const team of teams) {
      const enrollments = await ctx.db
        .query("enrollments")
        .withIndex("by_teamId_and_status", (q) =>
          q.eq("teamId", team._id).eq("status", "active"),
        )
        .collect();
      for (const enrollment of enrollments) {
        const player = await ctx.db.get(enrollment.playerId);
        if (player === null) continue;
        const guardian = player.guardianUserId
          ? await getProfile(ctx, player.guardianUserId)
          : null;
        lines.push(
          [
            team.name,
            player.fullName,
            player.dateOfBirth,
            guardian?.displayName ?? "",
            guardian?.user.email ?? "",
          ].join(","),
        );
      }
    }
    return lines.join("\n");
  },
});

/** Monthly report sent to club committees. */
export const orgReport = internalQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    // The report helpers are typed for the worker's loose data model.
    const reportCtx = ctx as unknown as ReportCtx;
    const teams = await teamsOfOrg(reportCtx, args.orgId);
    const statuses = ["pending", "active", "withdrawn"] as const;
    const enrollments: Record<string, number> = {};
    for (const status of statuses) {
      enrollments[status] = await countEnrollments(reportCtx, args.orgId, status);
    }
    return { teams: teams.length, enrollments };
  },
});

/** Recent audit entries of the club (admin "activity" tab). */
export const recentActivity = internalQuery({
  args: { orgId: v.id("organizations"), days: v.number() },
  handler: async (ctx, args) => {
    const since = Date.now() - args.days * 24 * 60 * 60 * 1000;
    return await ctx.db
      .query("auditLog")
      .withIndex("by_orgId_and_createdAt", (q) =>
        q.eq("orgId", args.orgId).gte("createdAt", since),
      )
      .order("desc")
      .take(100);
  },
});

/** One-off migration: fill `fullName` and aliases for players created before they existed. */
export const backfillFullNames = internalMutation({
  args: { cursor: v.optional(v.union(v.string(), v.null())) },
  handler: async (ctx, args) => {
    // One page per run (Convex allows a single paginated query per mutation); the next
    // page is its own transaction, scheduled with the cursor.
    const result = await ctx.db
      .query("players")
      .paginate({ cursor: args.cursor ?? null, numItems: 100 });
    let updated = 0;
    for (const player of result.page) {
      const fullName = `${player.firstName} ${player.lastName}`;
      if (player.fullName !== fullName) {
        await ctx.db.patch(player._id, { fullName });
        updated += 1;
      }
    }
    if (!result.isDone) {
      await ctx.scheduler.runAfter(0, internal.admin.backfillFullNames, {
        cursor: result.continueCursor,
      });
    }
    return updated;
  },
});

/** End of season: archive every team of the season and withdraw enrollments. */
export const seasonRollover = internalMutation({
  args: { season: v.string() },
  handler: async (ctx, args) => {
    const teams = await ctx.db
      .query("teams")
      .withIndex("by_season", (q) => q.eq("season", args.season))
      .collect();
    const archived: Id<"teams">[] = [];
    for (const team of teams) {
      if (team.archived) continue;
      await ctx.db.patch(team._id, { archived: true });
      archived.push(team._id);
    }
    for (const teamId of archived) {
      await ctx.scheduler.runAfter(0, internal.teams.withdrawEnrollments, { teamId });
    }
    return archived.length;
  },
});

/** Support tool: which org has a player whose alias is this? */
export const findAliasOwners = internalQuery({
  args: { alias: v.string() },
  handler: async (ctx, args) => {
    const alias = normalizeAlias(args.alias);
    return await ctx.db
      .query("playerAliases")
      .filter((q) => q.eq(q.field("alias"), alias))
      .take(1000);
  },
});
