import { ConvexError, v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internal } from "./_generated/api";
import { internalMutation } from "./_generated/server";
import { authedMutation, authedQuery } from "./lib/functions";
import { recordAudit } from "./model/audit";
import { getMedicalSummary, hasCriticalAllergy } from "./model/medical";
import { assertRole, assertSameOrg } from "./model/users";

const HOUR = 60 * 60 * 1000;

const sessionKind = v.union(
  v.literal("training"),
  v.literal("match"),
  v.literal("event"),
);

/** Team calendar: the next sessions of a team with the coach running each. */
export const listForTeam = authedQuery({
  args: { teamId: v.id("teams"), from: v.optional(v.number()) },
  handler: async (ctx, args) => {
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Team not found");
    }
    assertSameOrg(ctx.user, team.orgId);
    const from = args.from ?? Date.now() - 2 * HOUR;
    const sessions = await ctx.db
      .query("sessions")
      .withIndex("by_teamId_and_startsAt", (q) =>
        q.eq("teamId", args.teamId).gte("startsAt", from),
      )
      .take(20);

    const result = [];
    for (const s of sessions) {
      const coach = s.coachId ? await ctx.db.get(s.coachId) : null;
      result.push({ ...s, coachName: coach?.displayName ?? null });
    }
    return result;
  },
});

/** Club-wide calendar, optionally narrowed to one team or one kind. */
export const listForOrg = authedQuery({
  args: {
    orgId: v.id("organizations"),
    teamId: v.optional(v.id("teams")),
    kind: v.optional(sessionKind),
  },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    let q = ctx.db
      .query("sessions")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId));
    if (args.teamId) {
      q = q.filter((f) => f.eq(f.field("teamId"), args.teamId));
    }
    if (args.kind) {
      q = q.filter((f) => f.eq(f.field("kind"), args.kind));
    }
    const rows = await q.collect();
    return rows.sort((a, b) => a.startsAt - b.startsAt);
  },
});

/** "Sessions delivered" list on the club report. */
export const completedForOrg = authedQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    return await ctx.db
      .query("sessions")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .filter((q) => q.eq(q.field("status"), "done"))
      .order("desc")
      .take(50);
  },
});

/** The next few sessions of a team that are not cancelled. */
export const upcoming = authedQuery({
  args: { teamId: v.id("teams"), limit: v.optional(v.number()) },
  handler: async (ctx, args) => {
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      return [];
    }
    assertSameOrg(ctx.user, team.orgId);
    const limit = Math.min(args.limit ?? 5, 20);
    const now = Date.now();
    const next: Doc<"sessions">[] = [];
    for await (const session of ctx.db
      .query("sessions")
      .withIndex("by_teamId_and_startsAt", (q) =>
        q.eq("teamId", args.teamId).gt("startsAt", now),
      )) {
      if (session.status !== "cancelled") {
        next.push(session);
      }
      if (next.length >= limit) {
        break;
      }
    }
    return next;
  },
});

export const create = authedMutation({
  args: {
    teamId: v.id("teams"),
    title: v.string(),
    kind: sessionKind,
    location: v.optional(v.string()),
    startsAt: v.number(),
    endsAt: v.number(),
    coachId: v.optional(v.id("coaches")),
  },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin", "coach"]);
    const team = await ctx.db.get(args.teamId);
    if (team === null) {
      throw new ConvexError("Team not found");
    }
    assertSameOrg(ctx.user, team.orgId);
    if (args.endsAt <= args.startsAt) {
      throw new ConvexError("A session must end after it starts");
    }
    const sessionId = await ctx.db.insert("sessions", {
      ...args,
      orgId: team.orgId,
      coachId: args.coachId ?? team.headCoachId,
      status: "scheduled",
      createdAt: Date.now(),
    });
    const remindAt = args.startsAt - 24 * HOUR;
    if (remindAt > Date.now()) {
      await ctx.scheduler.runAt(remindAt, internal.reminders.sendSessionReminder, {
        sessionId,
      });
    }
    await recordAudit(ctx, {
      orgId: team.orgId,
      actorId: ctx.user._id,
      action: "session.create",
      entityType: "sessions",
      entityId: sessionId,
    });
    return sessionId;
  },
});

export const setStatus = authedMutation({
  args: {
    sessionId: v.id("sessions"),
    status: v.union(v.literal("scheduled"), v.literal("done"), v.literal("cancelled")),
  },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin", "coach"]);
    const session = await ctx.db.get(args.sessionId);
    if (session === null) {
      throw new ConvexError("Session not found");
    }
    assertSameOrg(ctx.user, session.orgId);
    await ctx.db.patch(session._id, { status: args.status });
  },
});

/** Pre-match checklist: medical notes for every player marked present. */
export const medicalChecklist = authedQuery({
  args: { sessionId: v.id("sessions") },
  handler: async (ctx, args) => {
    assertRole(ctx.user, ["admin", "coach"]);
    const session = await ctx.db.get(args.sessionId);
    if (session === null) {
      throw new ConvexError("Session not found");
    }
    assertSameOrg(ctx.user, session.orgId);
    const present = await ctx.db
      .query("attendance")
      .withIndex("by_sessionId", (q) => q.eq("sessionId", args.sessionId))
      .take(60);
    const checklist = [];
    for (const row of present) {
      if (row.status === "absent" || row.status === "excused") continue;
      const medical = await getMedicalSummary(ctx.db, row.playerId);
      if (medical.openInjuries.length > 0 || medical.allergies.length > 0) {
        checklist.push({
          playerId: row.playerId,
          injuries: medical.openInjuries.map((i) => `${i.bodyPart}: ${i.description}`),
          critical: hasCriticalAllergy(medical.allergies),
          contact: medical.contacts[0]?.phone ?? null,
        });
      }
    }
    return checklist;
  },
});

/** Called when a team is archived: cancel everything still on its calendar. */
export const cancelFutureForTeam = internalMutation({
  args: { teamId: v.id("teams") },
  handler: async (ctx, args) => {
    const future = await ctx.db
      .query("sessions")
      .withIndex("by_teamId_and_startsAt", (q) =>
        q.eq("teamId", args.teamId).gt("startsAt", Date.now()),
      )
      .take(200);
    for (const session of future) {
      if (session.status === "scheduled") {
        await ctx.db.patch(session._id, { status: "cancelled" });
      }
    }
    return future.length;
  },
});
