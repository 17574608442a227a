import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { internalAction, internalMutation, internalQuery } from "./_generated/server";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

function currentSeason(now = new Date()): string {
  // Seasons run August to July: "2025/26".
  const start = now.getUTCMonth() >= 7 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
  return `${start}/${String((start + 1) % 100).padStart(2, "0")}`;
}

/** Daily cron: queue tomorrow's reminder planning for every active team. */
export const scheduleAll = internalMutation({
  args: {},
  handler: async (ctx) => {
    const teams = await ctx.db
      .query("teams")
      .withIndex("by_season", (q) => q.eq("season", currentSeason()))
      .collect();
    const active = teams.filter((t) => !t.archived);
    await Promise.all(
      active.map((team) =>
        ctx.scheduler.runAfter(0, internal.reminders.scheduleWeek, { teamId: team._id }),
      ),
    );
    return active.length;
  },
});

/** Schedule a reminder 24 hours before each of the team's sessions this week. */
export const scheduleWeek = internalMutation({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const now = Date.now();
    const sessions = await ctx.db
      .query("sessions")
      .withIndex("by_teamId_and_startsAt", (q) =>
        q.eq("teamId", args.teamId).gt("startsAt", now).lt("startsAt", now + 7 * DAY),
      )
      .take(50);
    let scheduled = 0;
    for (const session of sessions) {
      if (session.status !== "scheduled") continue;
      await ctx.scheduler.runAfter(
        Math.max(0, session.startsAt - DAY - now),
        internal.reminders.sendSessionReminder,
        { sessionId: session._id },
      );
      scheduled += 1;
    }
    return scheduled;
  },
});

/** Guardians' and players' email addresses for one session's reminder. */
export const recipients = internalQuery({
  args: { sessionId: v.id("sessions") },
  handler: async (ctx, args) => {
    const session = await ctx.db.get(args.sessionId);
    if (session === null || session.status !== "scheduled") {
      return null;
    }
    const enrollments = await ctx.db
      .query("enrollments")
      .withIndex("by_teamId_and_status", (q) =>
        q.eq("teamId", session.teamId).eq("status", "active"),
      )
      .take(60);

    const playerIds = [...new Set(enrollments.map((e) => e.playerId))];
    const players = await Promise.all(playerIds.map((id) => ctx.db.get(id)));
    const playerById = new Map(players.filter((p) => p !== null).map((p) => [p._id, p]));

    const userIds = [
      ...new Set(
        [...playerById.values()].flatMap((p) =>
          [p.userId, p.guardianUserId].filter((id): id is Id<"users"> => id !== undefined),
        ),
      ),
    ];
    const users = await Promise.all(userIds.map((id) => ctx.db.get(id)));
    const emails = users.filter((u) => u !== null).map((u) => u.email);

    return {
      title: session.title,
      startsAt: session.startsAt,
      location: session.location ?? null,
      emails: [...new Set(emails)],
    };
  },
});

export const sendSessionReminder = internalAction({
  args: { sessionId: v.id("sessions") },
  handler: async (ctx, args) => {
    const info = await ctx.runQuery(internal.reminders.recipients, {
      sessionId: args.sessionId,
    });
    if (info === null || info.emails.length === 0) {
      return;
    }
    const when = new Date(info.startsAt).toUTCString();
    const response = await fetch("https://api.resend.com/emails/batch", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${process.env.RESEND_API_KEY}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify(
        info.emails.map((to: string) => ({
          from: "Club Hub <noreply@clubhub.example>",
          to,
          subject: `Reminder: ${info.title} tomorrow`,
          text: `${info.title} starts ${when}${info.location ? ` at ${info.location}` : ""}.`,
        })),
      ),
      signal: AbortSignal.timeout(15_000),
    });
    if (!response.ok) {
      throw new Error(`reminder email failed: HTTP ${response.status}`);
    }
  },
});
