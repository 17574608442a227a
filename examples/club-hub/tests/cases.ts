/**
 * The calls the equivalence spec makes: every query, mutation and action of
 * the app, each on freshly seeded data (external services answered by
 * world.ts), some several times to reach different branches, plus two helpers
 * that no function reaches.
 *
 * Not covered: `auth.ts`, whose functions call the Better Auth component's
 * adapter, which this app does not ship.
 */
import type { MutationCtx } from "../convex/_generated/server";
import { type ReportCtx, countEnrollments, teamsOfOrg } from "../convex/model/reports";
import type { Fixture, Who } from "./seed";
import { FIXED_NOW } from "./harness";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

type Common = {
  /** `module:export` (`api.module.export` for Convex functions, or a helper's module and name). */
  fn: string;
  /** Tells several cases of one function apart. */
  label?: string;
  /** Why this call may throw (an authorization check, a deliberate bug). Other cases must not. */
  mayThrow?: string;
};

/** A Convex function, called through convex-test like a client would. */
export type FunctionCase = Common & {
  kind: "query" | "mutation" | "action";
  /** Signed in as (see seed.ts SUBJECTS); anonymous when absent. */
  as?: Who;
  args: (f: Fixture) => Record<string, unknown>;
};

/**
 * A helper that no case reaches through a function (its only caller stops
 * earlier), called directly with a mutation ctx from `t.run`.
 */
export type HelperCase = Common & {
  kind: "helper";
  run: (ctx: MutationCtx, f: Fixture) => Promise<unknown>;
};

export type Case = FunctionCase | HelperCase;

export function caseName(c: Case): string {
  return c.label ? `${c.fn} [${c.label}]` : c.fn;
}

const page = (numItems: number) => ({ numItems, cursor: null });

export const CASES: Case[] = [
  // ---- admin.ts (internal) ----
  { fn: "admin:platformStats", kind: "query", args: () => ({}) },
  { fn: "admin:exportOrgRoster", kind: "query", label: "Riverside", args: (f) => ({ orgId: f.orgA }) },
  { fn: "admin:exportOrgRoster", kind: "query", label: "Hillside", args: (f) => ({ orgId: f.orgB }) },
  {
    fn: "admin:orgReport",
    kind: "query",
    args: (f) => ({ orgId: f.orgA }),
    mayThrow: 'model/reports.ts queries the unknown index "by_org" (a seeded bug the unsafe fix repairs)',
  },
  // admin:orgReport stops at teamsOfOrg's unknown index, so countEnrollments
  // (which an index-range-order fix rewrites) is called directly as well.
  {
    fn: "model/reports:teamsOfOrg",
    kind: "helper",
    run: (ctx, f) => teamsOfOrg(ctx as unknown as ReportCtx, f.orgA),
    mayThrow: 'the unknown index "by_org" (as admin:orgReport)',
  },
  {
    fn: "model/reports:countEnrollments",
    kind: "helper",
    label: "active",
    run: (ctx, f) => countEnrollments(ctx as unknown as ReportCtx, f.orgA, "active"),
    mayThrow: "its index range names the fields out of the index's order (a seeded bug a safe fix repairs)",
  },
  {
    fn: "model/reports:countEnrollments",
    kind: "helper",
    label: "pending",
    run: (ctx, f) => countEnrollments(ctx as unknown as ReportCtx, f.orgA, "pending"),
    mayThrow: "its index range names the fields out of the index's order (a seeded bug a safe fix repairs)",
  },
  { fn: "admin:recentActivity", kind: "query", args: (f) => ({ orgId: f.orgA, days: 30 }) },
  { fn: "admin:backfillFullNames", kind: "mutation", args: () => ({}) },
  { fn: "admin:seasonRollover", kind: "mutation", args: () => ({ season: "2025/26" }) },
  { fn: "admin:findAliasOwners", kind: "query", args: () => ({ alias: "  JONNY " }) },

  // ---- attendance.ts ----
  { fn: "attendance:forSession", kind: "query", label: "s1", as: "maria", args: (f) => ({ sessionId: f.s1 }) },
  { fn: "attendance:forSession", kind: "query", label: "s2", as: "maria", args: (f) => ({ sessionId: f.s2 }) },
  { fn: "attendance:forSession", kind: "query", label: "s3", as: "pat", args: (f) => ({ sessionId: f.s3 }) },
  {
    fn: "attendance:forSession",
    kind: "query",
    label: "other club",
    as: "adminB",
    args: (f) => ({ sessionId: f.s1 }),
    mayThrow: "a member of another club",
  },
  {
    fn: "attendance:mark",
    kind: "mutation",
    label: "existing row",
    as: "maria",
    args: (f) => ({ sessionId: f.s1, playerId: f.p3, status: "present" }),
  },
  {
    fn: "attendance:mark",
    kind: "mutation",
    label: "new row",
    as: "maria",
    args: (f) => ({ sessionId: f.s6, playerId: f.p1, status: "late" }),
  },
  {
    fn: "attendance:bulkMark",
    kind: "mutation",
    as: "maria",
    args: (f) => ({
      sessionId: f.s10,
      entries: [
        { playerId: f.p1, status: "absent" },
        { playerId: f.p2, status: "present" },
        { playerId: f.p3, status: "late" },
        { playerId: f.p2, status: "late" },
      ],
    }),
  },
  {
    fn: "attendance:bulkMark",
    kind: "mutation",
    label: "parent",
    as: "pat",
    args: (f) => ({ sessionId: f.s10, entries: [{ playerId: f.p1, status: "absent" }] }),
    mayThrow: "parents cannot mark attendance",
  },
  { fn: "attendance:teamAttendanceRate", kind: "query", label: "Lions", as: "maria", args: (f) => ({ teamId: f.lions }) },
  { fn: "attendance:teamAttendanceRate", kind: "query", label: "Tigers", as: "tom", args: (f) => ({ teamId: f.tigers }) },
  { fn: "attendance:playerHistory", kind: "query", as: "pat", args: (f) => ({ playerId: f.p1 }) },
  {
    fn: "attendance:playerHistory",
    kind: "query",
    label: "deleted player",
    as: "pat",
    args: (f) => ({ playerId: f.ghostPlayer }),
  },

  // ---- dashboard.ts ----
  { fn: "dashboard:getOrgDashboard", kind: "query", label: "admin", as: "adminA", args: (f) => ({ orgId: f.orgA }) },
  { fn: "dashboard:getOrgDashboard", kind: "query", label: "coach", as: "tom", args: (f) => ({ orgId: f.orgA }) },
  {
    fn: "dashboard:getOrgDashboard",
    kind: "query",
    label: "parent",
    as: "pat",
    args: (f) => ({ orgId: f.orgA }),
    mayThrow: "parents cannot see the dashboard",
  },
  { fn: "dashboard:getCoachHome", kind: "query", label: "coach", as: "maria", args: () => ({}) },
  { fn: "dashboard:getCoachHome", kind: "query", label: "not a coach", as: "pat", args: () => ({}) },

  // ---- enrollments.ts ----
  { fn: "enrollments:forPlayer", kind: "query", label: "Jonny", as: "pat", args: (f) => ({ playerId: f.p1 }) },
  { fn: "enrollments:forPlayer", kind: "query", label: "Zoe", as: "maria", args: (f) => ({ playerId: f.p6 }) },
  { fn: "enrollments:enroll", kind: "mutation", as: "adminA", args: (f) => ({ teamId: f.lions, playerId: f.p9 }) },
  // A loop that writes another table (batch-fetch stays safe), over a roster with a repeated and a deleted player.
  { fn: "enrollments:auditRoster", kind: "mutation", label: "Lions", as: "adminA", args: (f) => ({ teamId: f.lions }) },
  // A read-only helper behind a guard clause on the item: prefetched once per distinct player (safe).
  { fn: "enrollments:rosterMedical", kind: "query", label: "Lions", as: "adminA", args: (f) => ({ teamId: f.lions }) },
  { fn: "enrollments:rosterMedical", kind: "query", label: "Tigers", as: "adminA", args: (f) => ({ teamId: f.tigers }) },
  // A helper read in a loop that writes: the unsafe concurrent rewrite.
  { fn: "enrollments:withdrawUnresolved", kind: "mutation", label: "Tigers", as: "adminA", args: (f) => ({ teamId: f.tigers }) },
  {
    fn: "enrollments:enroll",
    kind: "mutation",
    label: "already enrolled",
    as: "maria",
    args: (f) => ({ teamId: f.tigers, playerId: f.p7 }),
    mayThrow: "the player is already in the team",
  },

  // ---- insights.ts ----
  { fn: "insights:getOne", kind: "query", as: "adminA", args: (f) => ({ insightId: f.i1 }) },
  { fn: "insights:getOne", kind: "query", label: "other club", as: "adminB", args: (f) => ({ insightId: f.i2 }) },
  {
    fn: "insights:fetchMany",
    kind: "query",
    args: (f) => ({ ids: [f.i2, f.i1, f.i2, f.ghostInsight, f.i4] }),
  },
  { fn: "insights:listForNote", kind: "query", args: (f) => ({ voiceNoteId: f.vn1 }) },
  {
    fn: "insights:saveMany",
    kind: "mutation",
    args: (f) => ({
      voiceNoteId: f.vn3,
      insights: [
        { playerId: f.p1, category: "skill", summary: "Jonny: first touch", confidence: 0.7, embedding: [0.1, 0.2] },
        { category: "attitude", summary: "Everyone: great effort", confidence: 0.9, embedding: [0.3, 0.4] },
      ],
    }),
  },
  { fn: "insights:applyOne", kind: "mutation", label: "medical", args: (f) => ({ insightId: f.i1 }) },
  { fn: "insights:applyOne", kind: "mutation", label: "no player", args: (f) => ({ insightId: f.i3 }) },
  { fn: "insights:recordMentions", kind: "mutation", args: (f) => ({ messageId: f.m1, playerIds: [f.p1, f.p2] }) },
  { fn: "insights:applyConfident", kind: "action", args: (f) => ({ voiceNoteId: f.vn1 }) },
  { fn: "insights:generate", kind: "action", args: (f) => ({ voiceNoteId: f.vn5 }) },
  { fn: "insights:generate", kind: "action", label: "no transcript", args: (f) => ({ voiceNoteId: f.vn3 }) },
  { fn: "insights:findSimilar", kind: "action", as: "adminA", args: (f) => ({ insightId: f.i1 }) },
  {
    fn: "insights:linkMentions",
    kind: "action",
    args: (f) => ({ orgId: f.orgA, messageId: f.m1, mentions: ["Jonny", "#4", "JONNY", "nobody"] }),
  },

  // ---- invitations.ts ----
  {
    fn: "invitations:listPending",
    kind: "query",
    as: "adminA",
    args: (f) => ({ orgId: f.orgA, role: "coach" }),
  },
  {
    fn: "invitations:listPending",
    kind: "query",
    label: "coach",
    as: "maria",
    args: (f) => ({ orgId: f.orgA, role: "coach" }),
    mayThrow: "only admins see invitations",
  },
  { fn: "invitations:accept", kind: "mutation", as: "newcomer", args: () => ({ token: "tok-pending" }) },
  {
    fn: "invitations:accept",
    kind: "mutation",
    label: "stale",
    as: "newcomer",
    args: () => ({ token: "tok-stale" }),
    mayThrow: "the invitation has expired",
  },
  {
    fn: "invitations:create",
    kind: "mutation",
    as: "adminA",
    args: (f) => ({ orgId: f.orgA, email: " New.Parent@Example.com ", role: "parent" }),
  },
  { fn: "invitations:sendEmail", kind: "action", args: (f) => ({ invitationId: f.invPending }) },
  { fn: "invitations:getForEmail", kind: "query", args: (f) => ({ invitationId: f.invPending }) },
  { fn: "invitations:getForEmail", kind: "query", label: "deleted inviter", args: (f) => ({ invitationId: f.invStale }) },
  { fn: "invitations:expireOld", kind: "mutation", args: () => ({}) },

  // ---- messages.ts ----
  { fn: "messages:listThreads", kind: "query", as: "maria", args: (f) => ({ orgId: f.orgA }) },
  {
    fn: "messages:listMessages",
    kind: "query",
    label: "first page",
    as: "pat",
    args: (f) => ({ threadId: f.th1, paginationOpts: page(5) }),
  },
  {
    fn: "messages:listMessages",
    kind: "query",
    label: "whole thread",
    as: "pat",
    args: (f) => ({ threadId: f.th1, paginationOpts: page(50) }),
  },
  {
    fn: "messages:listMessages",
    kind: "query",
    label: "deleted author",
    as: "adminA",
    args: (f) => ({ threadId: f.th2, paginationOpts: page(10) }),
  },
  { fn: "messages:recent", kind: "query", as: "pat", args: (f) => ({ threadId: f.th1 }) },
  { fn: "messages:recent", kind: "query", label: "deleted thread", as: "pat", args: (f) => ({ threadId: f.ghostThread }) },
  { fn: "messages:newSince", kind: "query", as: "maria", args: (f) => ({ orgId: f.orgA, since: FIXED_NOW - 12 * HOUR }) },
  { fn: "messages:search", kind: "query", as: "maria", args: (f) => ({ orgId: f.orgA, text: "training" }) },
  {
    fn: "messages:createThread",
    kind: "mutation",
    as: "pat",
    args: (f) => ({ orgId: f.orgA, teamId: f.lions, title: "Carpool" }),
  },
  {
    fn: "messages:send",
    kind: "mutation",
    as: "maria",
    args: (f) => ({ threadId: f.th1, body: "Great work @Jonny and @ava!" }),
  },

  // ---- organizations.ts ----
  { fn: "organizations:getBySlug", kind: "query", args: () => ({ slug: "Riverside-FC" }) },
  {
    fn: "organizations:create",
    kind: "mutation",
    as: "newcomer",
    args: () => ({ name: "New Club", slug: "new-club", timezone: "UTC" }),
  },
  {
    fn: "organizations:create",
    kind: "mutation",
    label: "slug taken",
    as: "newcomer",
    args: () => ({ name: "Copy", slug: "riverside-fc", timezone: "UTC" }),
    mayThrow: "the address is taken",
  },
  { fn: "organizations:listCoaches", kind: "query", as: "adminA", args: (f) => ({ orgId: f.orgA }) },

  // ---- players.ts ----
  {
    fn: "players:list",
    kind: "query",
    as: "adminA",
    args: (f) => ({ orgId: f.orgA, status: "active", paginationOpts: page(3) }),
  },
  { fn: "players:search", kind: "query", as: "adminA", args: (f) => ({ orgId: f.orgA, text: "Jonny" }) },
  { fn: "players:get", kind: "query", label: "coach", as: "maria", args: (f) => ({ playerId: f.p1 }) },
  { fn: "players:get", kind: "query", label: "parent", as: "pat", args: (f) => ({ playerId: f.p4 }) },
  { fn: "players:get", kind: "query", label: "deleted", as: "pat", args: (f) => ({ playerId: f.ghostPlayer }) },
  { fn: "players:mine", kind: "query", as: "jonny", args: () => ({}) },
  {
    fn: "players:resolveClaims",
    kind: "query",
    as: "maria",
    args: (f) => ({
      orgId: f.orgA,
      claims: [
        { playerId: f.p1 },
        { name: "Jonny" },
        { jerseyNumber: 4 },
        { name: "The Keeper" },
        { name: "nobody" },
        { playerId: f.pb1 },
        { playerId: f.ghostPlayer },
        { name: "Gus" },
        { jerseyNumber: 99 },
        { name: "Jonny" },
        {},
      ],
    }),
  },
  {
    fn: "players:create",
    kind: "mutation",
    as: "adminA",
    args: (f) => ({
      orgId: f.orgA,
      firstName: "Lily",
      lastName: "Chen",
      dateOfBirth: "2013-09-09",
      jerseyNumber: 11,
      guardianUserId: f.kim,
    }),
  },
  { fn: "players:setStatus", kind: "mutation", as: "maria", args: (f) => ({ playerId: f.p2, status: "active" }) },
  { fn: "players:getForInsight", kind: "query", args: (f) => ({ playerId: f.p1 }) },
  { fn: "players:lookupAlias", kind: "query", args: (f) => ({ orgId: f.orgA, alias: "JONNY" }) },
  {
    fn: "players:lookupAliases",
    kind: "query",
    args: (f) => ({ orgId: f.orgA, aliases: ["Jonny", "#4", "x", "gus"] }),
  },
  { fn: "players:searchByName", kind: "query", args: (f) => ({ orgId: f.orgA, name: "Ava" }) },
  { fn: "players:storeAlias", kind: "mutation", args: (f) => ({ orgId: f.orgA, alias: "Jonny Boy", playerId: f.p1 }) },

  // ---- reminders.ts ----
  { fn: "reminders:scheduleAll", kind: "mutation", args: () => ({}) },
  { fn: "reminders:scheduleWeek", kind: "mutation", args: (f) => ({ teamId: f.lions }) },
  { fn: "reminders:recipients", kind: "query", label: "scheduled", args: (f) => ({ sessionId: f.s6 }) },
  { fn: "reminders:recipients", kind: "query", label: "done", args: (f) => ({ sessionId: f.s1 }) },
  { fn: "reminders:sendSessionReminder", kind: "action", args: (f) => ({ sessionId: f.s6 }) },

  // ---- sessions.ts ----
  {
    fn: "sessions:listForTeam",
    kind: "query",
    label: "Lions, last 14 days on",
    as: "maria",
    args: (f) => ({ teamId: f.lions, from: FIXED_NOW - 14 * DAY }),
  },
  { fn: "sessions:listForTeam", kind: "query", label: "Tigers", as: "tom", args: (f) => ({ teamId: f.tigers }) },
  { fn: "sessions:listForOrg", kind: "query", as: "adminA", args: (f) => ({ orgId: f.orgA }) },
  {
    fn: "sessions:listForOrg",
    kind: "query",
    label: "Lions trainings",
    as: "adminA",
    args: (f) => ({ orgId: f.orgA, teamId: f.lions, kind: "training" }),
  },
  { fn: "sessions:completedForOrg", kind: "query", as: "adminA", args: (f) => ({ orgId: f.orgA }) },
  { fn: "sessions:upcoming", kind: "query", label: "limit 2", as: "pat", args: (f) => ({ teamId: f.lions, limit: 2 }) },
  { fn: "sessions:upcoming", kind: "query", label: "default", as: "pat", args: (f) => ({ teamId: f.lions }) },
  {
    fn: "sessions:create",
    kind: "mutation",
    as: "maria",
    args: (f) => ({
      teamId: f.lions,
      title: "Extra training",
      kind: "training",
      startsAt: FIXED_NOW + 3 * DAY,
      endsAt: FIXED_NOW + 3 * DAY + 2 * HOUR,
    }),
  },
  { fn: "sessions:setStatus", kind: "mutation", as: "maria", args: (f) => ({ sessionId: f.s6, status: "cancelled" }) },
  { fn: "sessions:medicalChecklist", kind: "query", label: "s1", as: "maria", args: (f) => ({ sessionId: f.s1 }) },
  { fn: "sessions:medicalChecklist", kind: "query", label: "s2", as: "tom", args: (f) => ({ sessionId: f.s2 }) },
  { fn: "sessions:cancelFutureForTeam", kind: "mutation", args: (f) => ({ teamId: f.lions }) },

  // ---- teams.ts ----
  { fn: "teams:listForOrg", kind: "query", as: "pat", args: (f) => ({ orgId: f.orgA }) },
  {
    fn: "teams:listForOrg",
    kind: "query",
    label: "with archived",
    as: "adminA",
    args: (f) => ({ orgId: f.orgA, includeArchived: true }),
  },
  { fn: "teams:getRoster", kind: "query", label: "Lions", as: "pat", args: (f) => ({ teamId: f.lions }) },
  { fn: "teams:getRoster", kind: "query", label: "Tigers", as: "tom", args: (f) => ({ teamId: f.tigers }) },
  { fn: "teams:getMedicalSheet", kind: "query", label: "Lions", as: "maria", args: (f) => ({ teamId: f.lions }) },
  { fn: "teams:getMedicalSheet", kind: "query", label: "Tigers", as: "adminA", args: (f) => ({ teamId: f.tigers }) },
  {
    fn: "teams:getMedicalSheet",
    kind: "query",
    label: "parent",
    as: "pat",
    args: (f) => ({ teamId: f.lions }),
    mayThrow: "parents cannot see medical sheets",
  },
  { fn: "teams:getStaff", kind: "query", as: "pat", args: (f) => ({ teamId: f.lions }) },
  { fn: "teams:assistantsByTeam", kind: "query", as: "adminA", args: (f) => ({ orgId: f.orgA }) },
  {
    fn: "teams:create",
    kind: "mutation",
    as: "adminA",
    args: (f) => ({ orgId: f.orgA, name: "U9 Foxes", ageGroup: "U9", season: "2025/26", headCoachId: f.tom }),
  },
  { fn: "teams:archive", kind: "mutation", as: "adminA", args: (f) => ({ teamId: f.tigers }) },
  { fn: "teams:withdrawEnrollments", kind: "mutation", args: (f) => ({ teamId: f.lions }) },

  // ---- voiceNotes.ts ----
  { fn: "voiceNotes:generateUploadUrl", kind: "mutation", as: "maria", args: () => ({}) },
  {
    fn: "voiceNotes:create",
    kind: "mutation",
    as: "maria",
    args: (f) => ({ storageId: f.storageId, durationSec: 30, teamId: f.lions }),
  },
  {
    fn: "voiceNotes:create",
    kind: "mutation",
    label: "not a coach",
    as: "pat",
    args: (f) => ({ storageId: f.storageId, durationSec: 30 }),
    mayThrow: "only coaches record notes",
  },
  { fn: "voiceNotes:getNote", kind: "query", args: (f) => ({ voiceNoteId: f.vn1 }) },
  { fn: "voiceNotes:transcribe", kind: "action", args: (f) => ({ voiceNoteId: f.vn3 }) },
  { fn: "voiceNotes:retryFailed", kind: "action", args: (f) => ({ orgId: f.orgA }) },
  { fn: "voiceNotes:listPendingForOrg", kind: "query", as: "adminA", args: (f) => ({ orgId: f.orgA }) },
  { fn: "voiceNotes:listProcessedForCoach", kind: "query", as: "adminA", args: (f) => ({ coachId: f.maria }) },
  { fn: "voiceNotes:listFailed", kind: "query", args: (f) => ({ orgId: f.orgA }) },
  {
    fn: "voiceNotes:setStatus",
    kind: "mutation",
    args: (f) => ({ voiceNoteId: f.vn3, status: "failed", error: "no audio" }),
  },
  {
    fn: "voiceNotes:saveTranscript",
    kind: "mutation",
    args: (f) => ({ voiceNoteId: f.vn3, transcript: "Mia played well" }),
  },
];
