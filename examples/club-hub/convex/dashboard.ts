import { v } from "convex/values";
import { authedQuery } from "./lib/functions";
import { assertRole, assertSameOrg } from "./model/users";

const DAY = 24 * 60 * 60 * 1000;

/**
 * The club admin's home screen: headline numbers, one card per team, the last
 * month's sessions with turnout, open injuries and recent activity.
 */
export const getOrgDashboard = authedQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    assertRole(ctx.user, ["admin", "coach"]);
    const now = Date.now();
    const since = now - 30 * DAY;

    const org = await ctx.db.get(args.orgId);

    const players = await ctx.db
      .query("players")
      .withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId))
      .collect();
    const activePlayers = players.filter((p) => p.status === "active").length;
    const injuredPlayers = players.filter((p) => p.status === "injured").length;

    const sessions = await ctx.db
      .query("sessions")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .collect();
    const recentSessions = sessions.filter(
      (s) => s.startsAt > since && s.startsAt <= now && s.status !== "cancelled",
    );

    const activeEnrollments = (
      await ctx.db
        .query("enrollments")
        .withIndex("by_orgId_and_status", (q) =>
          q.eq("orgId", args.orgId).eq("status", "active"),
        )
        .collect()
    ).length;

    const activity = (
      await ctx.db
        .query("auditLog")
        .withIndex("by_orgId_and_createdAt", (q) => q.eq("orgId", args.orgId))
        .collect()
    ).filter((entry) => entry.createdAt > since);

    // One card per team: head coach and squad size.
    const teams = await ctx.db
      .query("teams")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .collect();
    const teamCards = [];
    for (const team of teams) {
      if (team.archived) continue;
      const coach = await ctx.db.get(team.headCoachId);
      const squad = await ctx.db
        .query("enrollments")
        .withIndex("by_teamId_and_status", (q) =>
          q.eq("teamId", team._id).eq("status", "active"),
        )
        .collect();
      teamCards.push({
        teamId: team._id,
        name: team.name,
        ageGroup: team.ageGroup,
        coach: coach?.displayName ?? "No coach",
        squadSize: squad.length,
      });
    }

    // Turnout of each recent session.
    const sessionCards = await Promise.all(
      recentSessions.map(async (s) => {
        const register = await ctx.db
          .query("attendance")
          .withIndex("by_sessionId", (q) => q.eq("sessionId", s._id))
          .collect();
        const present = register.filter((r) => r.status !== "absent").length;
        return { sessionId: s._id, title: s.title, startsAt: s.startsAt, present };
      }),
    );

    // Open injuries with the player's name.
    const injuries = await ctx.db
      .query("injuries")
      .withIndex("by_orgId_and_status", (q) =>
        q.eq("orgId", args.orgId).eq("status", "open"),
      )
      .collect();
    const openInjuries = await Promise.all(
      injuries.map(async (injury) => ({
        ...injury,
        player: await ctx.db.get(injury.playerId),
      })),
    );

    // Names for the activity feed.
    const actorNames: Record<string, string> = {};
    activity.slice(0, 20).forEach(async (entry) => {
      const actor = await ctx.db.get(entry.actorId);
      if (actor) actorNames[entry.actorId] = actor.name;
    });

    return {
      org: org && { name: org.name, plan: org.plan },
      totals: {
        players: players.length,
        activePlayers,
        injuredPlayers,
        activeEnrollments,
        sessionsLast30Days: recentSessions.length,
      },
      teams: teamCards,
      sessions: sessionCards.sort((a, b) => b.startsAt - a.startsAt),
      injuries: openInjuries.map((i) => ({
        _id: i._id,
        bodyPart: i.bodyPart,
        severity: i.severity,
        reportedAt: i.reportedAt,
        player: i.player ? i.player.fullName : "(removed)",
      })),
      activity: activity.slice(0, 20).map((entry) => ({
        action: entry.action,
        at: entry.createdAt,
        actor: actorNames[entry.actorId] ?? "someone",
      })),
    };
  },
});

/** A coach's home screen: their teams and their latest voice notes. */
export const getCoachHome = authedQuery({
  args: {},
  handler: async (ctx) => {
    const coach = await ctx.db
      .query("coaches")
      .withIndex("by_userId", (q) => q.eq("userId", ctx.user._id))
      .unique();
    if (coach === null) {
      return null;
    }
    const notes = await ctx.db
      .query("voiceNotes")
      .withIndex("by_coachId", (q) => q.eq("coachId", coach._id))
      .order("desc")
      .take(10);
    const teams = await ctx.db
      .query("teams")
      .withIndex("by_orgId", (q) => q.eq("orgId", coach.orgId))
      .collect();
    const mine = teams.filter(
      (t) => !t.archived && (t.headCoachId === coach._id || t.assistantCoachIds.includes(coach._id)),
    );
    return {
      coach: coach.displayName,
      teams: mine.map((t) => ({ _id: t._id, name: t.name })),
      notes: notes.map((n) => ({
        _id: n._id,
        createdAt: n.createdAt,
        status: n.insightsStatus,
        durationSec: n.durationSec,
      })),
    };
  },
});
