import { ConvexError, v } from "convex/values";
import { authedMutation, authedQuery } from "./lib/functions";
import { recordAudit } from "./model/audit";
import { getMedicalSummary, hasCriticalAllergy } from "./model/medical";
import { resolvePlayer } from "./model/players";
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

/**
 * Logs one audit entry per active player of a team. The loop writes (to
 * auditLog) and reads players: the writes never touch what is read, so the
 * per-player read can be batch-fetched safely.
 */
export const auditRoster = authedMutation({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin"]);
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Unknown team");
    }
    assertSameOrg(ctx.user, team.orgId);
    const active = await ctx.db
      .query("enrollments")
      .withIndex("by_teamId_and_status", (q) => q.eq("teamId", args.teamId).eq("status", "active"))
      .take(50);
    let logged = 0;
    for (const enrollment of active) {
      const player = await ctx.db.get(enrollment.playerId);
      if (player === null) continue;
      await ctx.db.insert("auditLog", {
        orgId: team.orgId,
        actorId: ctx.user._id,
        action: "roster.audit",
        entityType: "players",
        entityId: player._id,
        createdAt: 0,
      });
      logged++;
    }
    return logged;
  },
});

/**
 * The medical flags of every player on a team's roster, skipping withdrawn
 * enrollments. The helper only reads and the guard clause is on the item: the
 * fix prefetches one summary per distinct player, for the enrollments the loop
 * keeps (safe).
 */
export const rosterMedical = authedQuery({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Unknown team");
    }
    assertSameOrg(ctx.user, team.orgId);
    const enrollments = await ctx.db
      .query("enrollments")
      .withIndex("by_teamId_and_status", (q) => q.eq("teamId", args.teamId))
      .take(50);
    const rows: { playerId: string; critical: boolean; injuries: number }[] = [];
    for (const enrollment of enrollments) {
      if (enrollment.status === "withdrawn") continue;
      const summary = await getMedicalSummary(ctx.db, enrollment.playerId);
      rows.push({
        playerId: enrollment.playerId,
        critical: hasCriticalAllergy(summary.allergies),
        injuries: summary.openInjuries.length,
      });
    }
    return rows;
  },
});

/**
 * Withdraws the pending enrollments of a team whose player no longer resolves
 * (read through a helper, so it cannot be batch-fetched; the iterations can
 * run concurrently instead).
 */
export const withdrawUnresolved = authedMutation({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin"]);
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Unknown team");
    }
    assertSameOrg(ctx.user, team.orgId);
    const pending = await ctx.db
      .query("enrollments")
      .withIndex("by_teamId_and_status", (q) => q.eq("teamId", args.teamId).eq("status", "pending"))
      .take(50);
    let withdrawn = 0;
    for (const enrollment of pending) {
      const player = await resolvePlayer(ctx, { orgId: team.orgId, playerId: enrollment.playerId });
      if (player !== null && player.jerseyNumber !== undefined) continue;
      await ctx.db.patch(enrollment._id, { status: "withdrawn" });
      withdrawn++;
    }
    return withdrawn;
  },
});
