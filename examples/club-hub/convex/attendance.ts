import { ConvexError, v } from "convex/values";
import { authedMutation, authedQuery } from "./lib/functions";
import { playerLabel } from "./model/players";
import { assertRole, assertSameOrg } from "./model/users";

const attendanceStatus = v.union(
  v.literal("present"),
  v.literal("late"),
  v.literal("absent"),
  v.literal("excused"),
);

/** Register screen of one session: who was marked, and by whom. */
export const forSession = authedQuery({
  args: { sessionId: v.id("sessions") },
  handler: async (ctx, args) => {
    const session = await ctx.db.get(args.sessionId);
    if (session === null) {
      throw new ConvexError("Session not found");
    }
    assertSameOrg(ctx.user, session.orgId);
    const rows = await ctx.db
      .query("attendance")
      .withIndex("by_sessionId", (q) => q.eq("sessionId", args.sessionId))
      .collect();

    const register = [];
    for (const row of rows) {
      const player = await ctx.db.get(row.playerId);
      const marker = await ctx.db.get(row.markedBy);
      register.push({
        _id: row._id,
        status: row.status,
        player: player ? playerLabel(player) : "(removed)",
        markedBy: marker?.name ?? "(unknown)",
        markedAt: row.markedAt,
      });
    }
    return register;
  },
});

export const mark = authedMutation({
  args: {
    sessionId: v.id("sessions"),
    playerId: v.id("players"),
    status: attendanceStatus,
  },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin", "coach"]);
    const session = await ctx.db.get(args.sessionId);
    if (session === null) {
      throw new ConvexError("Session not found");
    }
    assertSameOrg(ctx.user, session.orgId);
    const existing = await ctx.db
      .query("attendance")
      .withIndex("by_sessionId_and_playerId", (q) =>
        q.eq("sessionId", args.sessionId).eq("playerId", args.playerId),
      )
      .unique();
    if (existing) {
      await ctx.db.patch(existing._id, {
        status: args.status,
        markedBy: ctx.user._id,
        markedAt: Date.now(),
      });
      return existing._id;
    }
    return await ctx.db.insert("attendance", {
      orgId: session.orgId,
      sessionId: args.sessionId,
      playerId: args.playerId,
      status: args.status,
      markedBy: ctx.user._id,
      markedAt: Date.now(),
    });
  },
});

/** "Mark everyone" button: one call with the whole register. */
export const bulkMark = authedMutation({
  args: {
    sessionId: v.id("sessions"),
    entries: v.array(v.object({ playerId: v.id("players"), status: attendanceStatus })),
  },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin", "coach"]);
    const session = await ctx.db.get(args.sessionId);
    if (session === null) {
      throw new ConvexError("Session not found");
    }
    assertSameOrg(ctx.user, session.orgId);
    const now = Date.now();
    for (const entry of args.entries) {
      const existing = await ctx.db
        .query("attendance")
        .withIndex("by_sessionId_and_playerId", (q) =>
          q.eq("sessionId", args.sessionId).eq("playerId", entry.playerId),
        )
        .first();
      if (existing) {
        await ctx.db.patch(existing._id, { status: entry.status, markedBy: ctx.user._id, markedAt: now });
      } else {
        await ctx.db.insert("attendance", {
          orgId: session.orgId,
          sessionId: args.sessionId,
          playerId: entry.playerId,
          status: entry.status,
          markedBy: ctx.user._id,
          markedAt: now,
        });
      }
    }
    if (session.status === "scheduled" && session.endsAt < now) {
      await ctx.db.patch(session._id, { status: "done" });
    }
  },
});

/** Attendance rate per session for a team's season chart. */
export const teamAttendanceRate = authedQuery({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Team not found");
    }
    assertSameOrg(ctx.user, team.orgId);
    const sessions = await ctx.db
      .query("sessions")
      .withIndex("by_teamId_and_startsAt", (q) => q.eq("teamId", args.teamId))
      .collect();

    const points = [];
    for (const session of sessions) {
      if (session.status !== "done") continue;
      const rows = await ctx.db
        .query("attendance")
        .withIndex("by_sessionId", (q) => q.eq("sessionId", session._id))
        .collect();
      const attended = rows.filter((r) => r.status === "present" || r.status === "late");
      points.push({
        sessionId: session._id,
        startsAt: session.startsAt,
        rate: rows.length === 0 ? null : attended.length / rows.length,
      });
    }
    return points;
  },
});

/** A player's attendance record, shown to parents. */
export const playerHistory = authedQuery({
  args: { playerId: v.id("players") },
  handler: async (ctx, args) => {
    const rows = await ctx.db
      .query("attendance")
      .withIndex("by_playerId", (q) => q.eq("playerId", args.playerId))
      .order("desc")
      .take(1000);

    const counts = { present: 0, late: 0, absent: 0, excused: 0 };
    for (const row of rows) {
      counts[row.status] += 1;
    }

    const player = await ctx.db.get(args.playerId);
    if (player === null) {
      return null;
    }
    assertSameOrg(ctx.user, player.orgId);

    const sessionIds = [...new Set(rows.slice(0, 10).map((r) => r.sessionId))];
    const sessions = await Promise.all(sessionIds.map((id) => ctx.db.get(id)));
    const sessionById = new Map(
      sessions.filter((s) => s !== null).map((s) => [s._id, s]),
    );
    return {
      player: player.fullName,
      counts,
      total: rows.length,
      recent: rows.slice(0, 10).map((r) => ({
        status: r.status,
        session: sessionById.get(r.sessionId)?.title ?? "(deleted session)",
        startsAt: sessionById.get(r.sessionId)?.startsAt ?? null,
      })),
    };
  },
});
