import { ConvexError, v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internal } from "./_generated/api";
import { internalMutation } from "./_generated/server";
import { authedMutation, authedQuery } from "./lib/functions";
import { recordAudit } from "./model/audit";
import { hasCriticalAllergy } from "./model/medical";
import { assertRole, assertSameOrg } from "./model/users";

/** Teams of a club with their head coach, for the club home page. */
export const listForOrg = authedQuery({
  args: { orgId: v.id("organizations"), includeArchived: v.optional(v.boolean()) },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    const teams = await ctx.db
      .query("teams")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .collect();
    const visible = args.includeArchived ? teams : teams.filter((t) => !t.archived);

    const ids = [...new Set(visible.map((t) => t.headCoachId))];
    const docs = await Promise.all(ids.map((id) => ctx.db.get(id)));
    const byId = new Map(docs.filter((d) => d !== null).map((d) => [d._id, d]));

    return visible.map((t) => ({
      ...t,
      headCoach: byId.get(t.headCoachId)?.displayName ?? null,
    }));
  },
});

/** Active roster of a team. */
export const getRoster = authedQuery({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Team not found");
    }
    assertSameOrg(ctx.user, team.orgId);
    const enrollments = await ctx.db
      .query("enrollments")
      .withIndex("by_teamId_and_status", (q) =>
        q.eq("teamId", args.teamId).eq("status", "active"),
      )
      .collect();
    const roster = await Promise.all(
      enrollments.map(async (e) => ({ ...e, player: await ctx.db.get(e.playerId) })),
    );
    return roster.sort((a, b) =>
      (a.player?.lastName ?? "").localeCompare(b.player?.lastName ?? ""),
    );
  },
});

/**
 * The printable medical sheet coaches take to away matches: for each player
 * on the team, their open injuries, allergies and emergency contacts.
 */
export const getMedicalSheet = authedQuery({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin", "coach"]);
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Team not found");
    }
    assertSameOrg(ctx.user, team.orgId);
    const enrollments = await ctx.db
      .query("enrollments")
      .withIndex("by_teamId_and_status", (q) =>
        q.eq("teamId", args.teamId).eq("status", "active"),
      )
      .collect();

    const sheet = [];
    for (const enrollment of enrollments) {
      const player = await ctx.db.get(enrollment.playerId);
      if (player === null) continue;
      const injuries = await ctx.db
        .query("injuries")
        .withIndex("by_playerId", (q) => q.eq("playerId", enrollment.playerId))
        .collect();
      const contacts = await ctx.db
        .query("emergencyContacts")
        .withIndex("by_playerId", (q) => q.eq("playerId", enrollment.playerId))
        .collect();
      const allergies = await ctx.db
        .query("allergies")
        .withIndex("by_playerId", (q) => q.eq("playerId", enrollment.playerId))
        .collect();
      sheet.push({
        name: `${player.firstName} ${player.lastName}`,
        dateOfBirth: player.dateOfBirth,
        openInjuries: injuries.filter((i) => i.status !== "resolved"),
        allergies,
        critical: hasCriticalAllergy(allergies),
        primaryContact: contacts.find((c) => c.isPrimary) ?? contacts[0] ?? null,
      });
    }
    return { team: team.name, generatedAt: Date.now(), players: sheet };
  },
});

/** Staff panel on the team page: coaches and admins of the club. */
export const getStaff = authedQuery({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      return null;
    }
    assertSameOrg(ctx.user, team.orgId);
    const staff: Record<"coach" | "admin", Doc<"users">[]> = { coach: [], admin: [] };
    for (const role of ["coach", "admin"] as const) {
      staff[role] = await ctx.db
        .query("users")
        .withIndex("by_orgId_and_role", (q) =>
          q.eq("orgId", team.orgId).eq("role", role),
        )
        .take(50);
    }
    return staff;
  },
});

/** Assistant coaches of every team, for the coaching-staff report. */
export const assistantsByTeam = authedQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    const teams = await ctx.db
      .query("teams")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .collect();
    const assistants = await Promise.all(
      teams.flatMap((team) =>
        team.assistantCoachIds.map(async (coachId) => {
          const coach = await ctx.db.get(coachId);
          return { teamId: team._id, team: team.name, coach: coach?.displayName ?? "?" };
        }),
      ),
    );
    return assistants;
  },
});

export const create = authedMutation({
  args: {
    orgId: v.id("organizations"),
    name: v.string(),
    ageGroup: v.string(),
    season: v.string(),
    headCoachId: v.id("coaches"),
  },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    assertRole(ctx.user, ["admin"]);
    const teamId = await ctx.db.insert("teams", {
      ...args,
      assistantCoachIds: [],
      archived: false,
    });
    await recordAudit(ctx, {
      orgId: args.orgId,
      actorId: ctx.user._id,
      action: "team.create",
      entityType: "teams",
      entityId: teamId,
    });
    return teamId;
  },
});

/** Archive a team at the end of a season and tell its players' families. */
export const archive = authedMutation({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Team not found");
    }
    assertSameOrg(ctx.user, team.orgId);
    assertRole(ctx.user, ["admin"]);
    await ctx.db.patch(team._id, { archived: true });
    await ctx.scheduler.runAfter(0, internal.sessions.cancelFutureForTeam, {
      teamId: team._id,
    });
    await ctx.scheduler.runAfter(0, internal.teams.withdrawEnrollments, {
      teamId: team._id,
    });
    await recordAudit(ctx, {
      orgId: team.orgId,
      actorId: ctx.user._id,
      action: "team.archive",
      entityType: "teams",
      entityId: team._id,
    });
  },
});

/** After archiving: withdraw the team's active enrollments, a batch at a time. */
export const withdrawEnrollments = internalMutation({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const batch = await ctx.db
      .query("enrollments")
      .withIndex("by_teamId_and_status", (q) =>
        q.eq("teamId", args.teamId).eq("status", "active"),
      )
      .take(100);
    for (const enrollment of batch) {
      await ctx.db.patch(enrollment._id, { status: "withdrawn" });
    }
    if (batch.length === 100) {
      await ctx.scheduler.runAfter(0, internal.teams.withdrawEnrollments, args);
    }
  },
});
