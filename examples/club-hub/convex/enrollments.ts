import { ConvexError, v } from "convex/values";
import { authedMutation, authedQuery } from "./lib/functions";
import { recordAudit } from "./model/audit";
import { assertRole, assertSameOrg } from "./model/users";

/** The teams a player is (or was) enrolled in, newest first. */
export const forPlayer = authedQuery({
  args: { playerId: v.id("players") },
  handler: async (ctx, args) => {
    const player = await ctx.db.get(args.playerId);
    if (player === null) {
      return [];
    }
    assertSameOrg(ctx.user, player.orgId);
    const enrollments = await ctx.db
      .query("enrollments")
      .withIndex("by_playerId", (q) => q.eq("playerId", args.playerId))
      .order("desc")
      .take(20);

    const teamIds = [...new Set(enrollments.map((e) => e.teamId))];
    const teams = await Promise.all(teamIds.map((id) => ctx.db.get(id)));
    const teamById = new Map(teams.filter((t) => t !== null).map((t) => [t._id, t]));

    return enrollments.map((e) => ({
      ...e,
      team: teamById.get(e.teamId)?.name ?? "(deleted team)",
    }));
  },
});

export const enroll = authedMutation({
  args: { teamId: v.id("teams"), playerId: v.id("players") },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin", "coach"]);
    const team = await ctx.db.get(args.teamId);
    const player = await ctx.db.get(args.playerId);
    if (team === null || player === null || team.orgId !== player.orgId) {
      throw new ConvexError("Unknown team or player");
    }
    assertSameOrg(ctx.user, team.orgId);
    const current = await ctx.db
      .query("enrollments")
      .withIndex("by_playerId", (q) => q.eq("playerId", args.playerId))
      .take(20);
    if (current.some((e) => e.teamId === args.teamId && e.status !== "withdrawn")) {
      throw new ConvexError(`${player.fullName} is already in ${team.name}`);
    }
    const enrollmentId = await ctx.db.insert("enrollments", {
      orgId: team.orgId,
      teamId: team._id,
      playerId: player._id,
      season: team.season,
      status: ctx.user.role === "admin" ? "active" : "pending",
      enrolledAt: Date.now(),
    });
    await recordAudit(ctx, {
      orgId: team.orgId,
      actorId: ctx.user._id,
      action: "enrollment.create",
      entityType: "enrollments",
      entityId: enrollmentId,
    });
    return enrollmentId;
  },
});
