/**
 * Deterministic seed data for the equivalence spec.
 *
 * Three clubs; the first ("Riverside FC") is the busy one. The data is shaped
 * to exercise what a batch-fetch rewrite could get wrong:
 *
 * - dangling references: a user, a coach, a player, a team, a thread and an
 *   insight are inserted and then deleted, and other rows keep pointing at
 *   them (attendance marked by the deleted user, an enrollment and an open
 *   injury of the deleted player, sessions and a team led by the deleted
 *   coach, ...), so every `?? null` / `"(removed)"` path runs;
 * - repeated references: the same coach runs most sessions and marks most
 *   attendance, one guardian has three children, one author writes most
 *   messages, a player has two open injuries and a duplicated active
 *   enrollment, a team lists the same assistant twice — so deduplicating the
 *   keys matters and the batched code must hand the same document to every
 *   item that refers to it;
 * - optional ids left unset (sessions without a coach, players without a
 *   guardian), an archived team, withdrawn and pending enrollments, statuses
 *   that the functions filter on, and a second club whose rows must never leak.
 *
 * Ids are deterministic: convex-test numbers documents in insertion order and
 * the clock is frozen (harness.ts), so two runs produce identical documents.
 */
import type { Id, TableNames } from "../convex/_generated/dataModel";
import schema from "../convex/schema";
import { type Backend, FIXED_NOW } from "./harness";

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const N = FIXED_NOW;

/** Auth subjects (`users.authId`) to sign in as, by role in the story. */
export const SUBJECTS = {
  adminA: "auth|admin-a",
  maria: "auth|coach-maria",
  tom: "auth|coach-tom",
  pat: "auth|parent-pat",
  jonny: "auth|player-jonny",
  adminB: "auth|admin-b",
  newcomer: "auth|newcomer", // signed in with Better Auth, no profile yet
} as const;
export type Who = keyof typeof SUBJECTS;

export type Fixture = Awaited<ReturnType<typeof seed>>;

function embedding(seedValue: number): number[] {
  // Shorter than the vector index's 1536 dimensions: convex-test does not
  // check the length, nothing here searches vectors, and it keeps the state
  // dumps small.
  return Array.from({ length: 8 }, (_, k) => ((k * 7 + seedValue * 13) % 17) / 17);
}

export async function seed(t: Backend) {
  return await t.run(async (ctx) => {
    const db = ctx.db;

    // ---- clubs ----------------------------------------------------------
    const orgA = await db.insert("organizations", {
      name: "Riverside FC",
      slug: "riverside-fc",
      plan: "club",
      timezone: "Europe/London",
      createdAt: N - 400 * DAY,
    });
    const orgB = await db.insert("organizations", {
      name: "Hillside Academy",
      slug: "hillside",
      plan: "academy",
      timezone: "Europe/Dublin",
      createdAt: N - 300 * DAY,
    });
    const orgC = await db.insert("organizations", {
      name: "Tiny Town",
      slug: "tiny-town",
      plan: "free",
      timezone: "UTC",
      createdAt: N - 10 * DAY,
    });

    // ---- users ------------------------------------------------------------
    const user = (
      authId: string,
      orgId: Id<"organizations">,
      name: string,
      email: string,
      role: "admin" | "coach" | "parent" | "player",
    ) => db.insert("users", { authId, orgId, name, email, role, createdAt: N - 200 * DAY });
    const adminA = await user(SUBJECTS.adminA, orgA, "Alice Admin", "alice@riverside.example", "admin");
    const mariaUser = await user(SUBJECTS.maria, orgA, "Maria Lopez", "maria@riverside.example", "coach");
    const tomUser = await user(SUBJECTS.tom, orgA, "Tom Baker", "tom@riverside.example", "coach");
    const samUser = await user("auth|coach-sam", orgA, "Sam Oduya", "sam@riverside.example", "coach");
    const pat = await user(SUBJECTS.pat, orgA, "Pat Jones", "pat@family.example", "parent");
    // A blank name: displayName() falls back to the email's local part.
    const robin = await user("auth|parent-robin", orgA, "   ", "robin.k@family.example", "parent");
    const kim = await user("auth|parent-kim", orgA, "Kim Lee", "kim@family.example", "parent");
    const jonnyUser = await user(SUBJECTS.jonny, orgA, "Jonny Smith", "jonny@family.example", "player");
    const ghostUser = await user("auth|ghost", orgA, "Gone Person", "gone@riverside.example", "coach");
    const adminB = await user(SUBJECTS.adminB, orgB, "Bea Admin", "bea@hillside.example", "admin");
    const coachBUser = await user("auth|coach-b", orgB, "Ben Coach", "ben@hillside.example", "coach");
    await user("auth|admin-c", orgC, "Cal Admin", "cal@tiny.example", "admin");

    // ---- coaches ------------------------------------------------------------
    const maria = await db.insert("coaches", {
      orgId: orgA,
      userId: mariaUser,
      displayName: "Coach Maria",
      specialty: "goalkeeping",
      canSeeMedical: true,
      active: true,
    });
    const tom = await db.insert("coaches", {
      orgId: orgA,
      userId: tomUser,
      displayName: "Coach Tom",
      canSeeMedical: false,
      active: true,
    });
    const sam = await db.insert("coaches", {
      orgId: orgA,
      userId: samUser,
      displayName: "Coach Sam",
      canSeeMedical: false,
      active: false,
    });
    const ghostCoach = await db.insert("coaches", {
      orgId: orgA,
      userId: ghostUser,
      displayName: "Coach Gone",
      canSeeMedical: false,
      active: true,
    });
    const coachB = await db.insert("coaches", {
      orgId: orgB,
      userId: coachBUser,
      displayName: "Coach Ben",
      canSeeMedical: true,
      active: true,
    });

    // ---- teams --------------------------------------------------------------
    const season = "2025/26";
    const lions = await db.insert("teams", {
      orgId: orgA,
      name: "U12 Lions",
      ageGroup: "U12",
      season,
      headCoachId: maria,
      // Tom twice (a data-entry slip), a deleted coach, an inactive one.
      assistantCoachIds: [tom, tom, ghostCoach, sam],
      archived: false,
    });
    const tigers = await db.insert("teams", {
      orgId: orgA,
      name: "U14 Tigers",
      ageGroup: "U14",
      season,
      headCoachId: tom,
      assistantCoachIds: [maria],
      archived: false,
    });
    const cubs = await db.insert("teams", {
      orgId: orgA,
      name: "U10 Cubs",
      ageGroup: "U10",
      season,
      headCoachId: ghostCoach,
      assistantCoachIds: [],
      archived: true,
    });
    const hawks = await db.insert("teams", {
      orgId: orgA,
      name: "U16 Hawks",
      ageGroup: "U16",
      season: "2024/25",
      headCoachId: ghostCoach,
      assistantCoachIds: [maria, tom],
      archived: false,
    });
    const ghostTeam = await db.insert("teams", {
      orgId: orgA,
      name: "U8 Pups",
      ageGroup: "U8",
      season: "2024/25",
      headCoachId: tom,
      assistantCoachIds: [],
      archived: true,
    });
    const teamB = await db.insert("teams", {
      orgId: orgB,
      name: "Academy U12",
      ageGroup: "U12",
      season,
      headCoachId: coachB,
      assistantCoachIds: [],
      archived: false,
    });

    // ---- players ------------------------------------------------------------
    const player = (
      orgId: Id<"organizations">,
      firstName: string,
      lastName: string,
      extra: {
        userId?: Id<"users">;
        guardianUserId?: Id<"users">;
        position?: string;
        jerseyNumber?: number;
        status?: "active" | "inactive" | "injured";
        fullName?: string;
        dateOfBirth?: string;
      } = {},
    ) =>
      db.insert("players", {
        orgId,
        firstName,
        lastName,
        fullName: extra.fullName ?? `${firstName} ${lastName}`,
        dateOfBirth: extra.dateOfBirth ?? "2013-05-01",
        status: extra.status ?? "active",
        createdAt: N - 100 * DAY,
        ...(extra.userId ? { userId: extra.userId } : {}),
        ...(extra.guardianUserId ? { guardianUserId: extra.guardianUserId } : {}),
        ...(extra.position ? { position: extra.position } : {}),
        ...(extra.jerseyNumber !== undefined ? { jerseyNumber: extra.jerseyNumber } : {}),
      });
    const p1 = await player(orgA, "Jonny", "Smith", {
      userId: jonnyUser,
      guardianUserId: pat,
      position: "Forward",
      jerseyNumber: 7,
      dateOfBirth: "2013-02-11",
    });
    const p2 = await player(orgA, "Ava", "Brown", { guardianUserId: pat, jerseyNumber: 4, status: "injured" });
    const p3 = await player(orgA, "Leo", "Green", { guardianUserId: robin, position: "Keeper" });
    const p4 = await player(orgA, "Mia", "White", { guardianUserId: ghostUser, jerseyNumber: 10 });
    // Stale fullName: admin:backfillFullNames repairs it.
    const p5 = await player(orgA, "Noah", "Black", { guardianUserId: kim, jerseyNumber: 1, fullName: "Noah Blak" });
    const p6 = await player(orgA, "Zoe", "Gray", { jerseyNumber: 9, status: "inactive" });
    const p7 = await player(orgA, "Eli", "King", { guardianUserId: kim, jerseyNumber: 5, dateOfBirth: "2011-08-30" });
    const p8 = await player(orgA, "Ivy", "Stone", { guardianUserId: pat, jerseyNumber: 7, dateOfBirth: "2011-01-19" });
    const p9 = await player(orgA, "Max", "Reed", { dateOfBirth: "2011-12-02" });
    const p10 = await player(orgA, "Sam", "Hill", { guardianUserId: robin, dateOfBirth: "2011-03-03" });
    const ghostPlayer = await player(orgA, "Gus", "Gone", { guardianUserId: pat, jerseyNumber: 3 });
    const pb1 = await player(orgB, "Jonny", "Walker", { jerseyNumber: 7 });

    // ---- enrollments ----------------------------------------------------------
    const enroll = (
      teamId: Id<"teams">,
      playerId: Id<"players">,
      status: "pending" | "active" | "withdrawn" = "active",
      orgId: Id<"organizations"> = orgA,
    ) => db.insert("enrollments", { orgId, teamId, playerId, season, status, enrolledAt: N - 60 * DAY });
    for (const p of [p1, p2, p3, p4, p5, p6, ghostPlayer]) {
      await enroll(lions, p);
    }
    await enroll(lions, p2); // duplicate active enrollment (double submit)
    await enroll(tigers, p6);
    await enroll(tigers, p7);
    await enroll(tigers, p8);
    await enroll(tigers, p9, "pending");
    await enroll(tigers, p10, "withdrawn");
    await enroll(cubs, p1);
    await enroll(hawks, p3);
    await enroll(ghostTeam, p1, "withdrawn");
    await enroll(teamB, pb1, "active", orgB);

    // ---- sessions -------------------------------------------------------------
    const session = (
      teamId: Id<"teams">,
      title: string,
      startsAt: number,
      status: "scheduled" | "done" | "cancelled",
      extra: { coachId?: Id<"coaches">; kind?: "training" | "match" | "event"; location?: string } = {},
      orgId: Id<"organizations"> = orgA,
    ) =>
      db.insert("sessions", {
        orgId,
        teamId,
        title,
        kind: extra.kind ?? "training",
        startsAt,
        endsAt: startsAt + 90 * MINUTE,
        status,
        createdAt: startsAt - 14 * DAY,
        ...(extra.coachId ? { coachId: extra.coachId } : {}),
        ...(extra.location ? { location: extra.location } : {}),
      });
    const s1 = await session(lions, "Training: passing", N - 2 * DAY, "done", { coachId: maria, location: "Pitch 2" });
    const s2 = await session(lions, "Match vs Hillside", N - 5 * DAY, "done", { coachId: maria, kind: "match" });
    const s3 = await session(lions, "Training: fitness", N - 9 * DAY, "done");
    const s4 = await session(lions, "Training", N - 12 * DAY, "cancelled", { coachId: tom });
    const s5 = await session(lions, "Preseason training", N - 40 * DAY, "done", { coachId: ghostCoach });
    const s6 = await session(lions, "Training: shooting", N + 1 * DAY, "scheduled", { coachId: maria, location: "Pitch 1" });
    const s7 = await session(lions, "Match vs Oakdale", N + 3 * DAY, "scheduled", { coachId: ghostCoach, kind: "match" });
    const s8 = await session(lions, "Training", N + 5 * DAY, "cancelled", { coachId: maria });
    const s9 = await session(lions, "Club barbecue", N + 6 * DAY, "scheduled", { coachId: tom, kind: "event" });
    // Finished yesterday but never closed: attendance:bulkMark marks it done.
    const s10 = await session(lions, "Training: set pieces", N - 1 * DAY, "scheduled", { coachId: maria });
    const t1 = await session(tigers, "Training", N - 3 * DAY, "done", { coachId: tom });
    const t2 = await session(tigers, "Match vs Rovers", N + 2 * DAY, "scheduled", { coachId: tom, kind: "match" });
    const t3 = await session(tigers, "Training", N + 10 * DAY, "scheduled");
    const sb1 = await session(teamB, "Academy session", N - 1 * DAY, "done", { coachId: coachB }, orgB);

    // ---- attendance -----------------------------------------------------------
    const mark = (
      sessionId: Id<"sessions">,
      playerId: Id<"players">,
      status: "present" | "late" | "absent" | "excused",
      markedBy: Id<"users">,
      orgId: Id<"organizations"> = orgA,
    ) => db.insert("attendance", { orgId, sessionId, playerId, status, markedBy, markedAt: N - 2 * DAY });
    await mark(s1, p1, "present", mariaUser);
    await mark(s1, p2, "late", mariaUser);
    await mark(s1, p3, "absent", mariaUser);
    await mark(s1, p4, "present", ghostUser);
    await mark(s1, p5, "excused", adminA);
    await mark(s1, ghostPlayer, "present", mariaUser);
    await mark(s1, p6, "present", mariaUser);
    await mark(s2, p1, "present", tomUser);
    await mark(s2, p2, "present", tomUser);
    await mark(s2, p6, "late", tomUser);
    await mark(s2, p3, "present", tomUser);
    await mark(s3, p1, "absent", ghostUser);
    await mark(s3, p2, "present", ghostUser);
    await mark(s5, p1, "present", mariaUser);
    await mark(s10, p1, "present", mariaUser);
    await mark(t1, p7, "present", tomUser);
    await mark(t1, p8, "absent", tomUser);
    await mark(t1, p6, "present", tomUser);
    await mark(sb1, pb1, "present", coachBUser, orgB);

    // ---- medical ----------------------------------------------------------------
    const injury = (
      playerId: Id<"players">,
      bodyPart: string,
      status: "open" | "recovering" | "resolved",
      severity: "low" | "moderate" | "high" | "critical",
      reportedBy: Id<"users">,
      daysAgo: number,
    ) =>
      db.insert("injuries", {
        orgId: orgA,
        playerId,
        description: `${bodyPart} ${status === "resolved" ? "(healed)" : "strain"}`,
        bodyPart,
        severity,
        status,
        reportedBy,
        reportedAt: N - daysAgo * DAY,
        ...(status === "resolved" ? { resolvedAt: N - (daysAgo - 5) * DAY } : {}),
      });
    await injury(p1, "knee", "resolved", "low", mariaUser, 50);
    await injury(p1, "ankle", "open", "moderate", mariaUser, 4);
    await injury(p2, "hamstring", "open", "high", tomUser, 6);
    await injury(p2, "shoulder", "recovering", "moderate", ghostUser, 20);
    await injury(p2, "wrist", "open", "low", mariaUser, 1);
    await injury(ghostPlayer, "back", "open", "critical", ghostUser, 3);
    await injury(p7, "toe", "open", "low", tomUser, 2);
    await db.insert("allergies", { playerId: p1, allergen: "peanuts", severity: "critical", carriesEpiPen: true });
    await db.insert("allergies", { playerId: p2, allergen: "lactose", severity: "moderate", carriesEpiPen: false });
    await db.insert("allergies", {
      playerId: p3,
      allergen: "pollen",
      severity: "low",
      carriesEpiPen: false,
      notes: "spring only",
    });
    await db.insert("allergies", { playerId: ghostPlayer, allergen: "bees", severity: "high", carriesEpiPen: true });
    await db.insert("emergencyContacts", {
      playerId: p1,
      name: "Pat Jones",
      relation: "parent",
      phone: "+44 7700 900001",
      isPrimary: true,
    });
    await db.insert("emergencyContacts", {
      playerId: p1,
      name: "Chris Jones",
      relation: "uncle",
      phone: "+44 7700 900002",
      isPrimary: false,
    });
    await db.insert("emergencyContacts", {
      playerId: p2,
      name: "Pat Jones",
      relation: "parent",
      phone: "+44 7700 900001",
      isPrimary: false,
    });
    await db.insert("emergencyContacts", {
      playerId: p3,
      name: "Robin K",
      relation: "parent",
      phone: "+44 7700 900003",
      isPrimary: true,
    });

    // ---- threads and messages ---------------------------------------------------
    const thread = (
      title: string,
      createdBy: Id<"users">,
      lastMessageAt: number,
      extra: { teamId?: Id<"teams">; archived?: boolean } = {},
      orgId: Id<"organizations"> = orgA,
    ) =>
      db.insert("threads", {
        orgId,
        title,
        createdBy,
        lastMessageAt,
        archived: extra.archived ?? false,
        ...(extra.teamId ? { teamId: extra.teamId } : {}),
      });
    const th1 = await thread("U12 parents", adminA, N - 1 * HOUR, { teamId: lions });
    const th2 = await thread("Kit order", ghostUser, N - 2 * DAY);
    const th3 = await thread("Old news", mariaUser, N - 20 * DAY, { archived: true });
    const th4 = await thread("Coaches' room", robin, N - 3 * HOUR);
    const th5 = await thread("Quiet thread", mariaUser, N - 30 * DAY);
    const th6 = await thread("Also Maria's", mariaUser, N - 4 * HOUR, { teamId: tigers });
    const ghostThread = await thread("Deleted thread", adminA, N - 5 * DAY);
    const thB = await thread("Academy news", adminB, N - 1 * DAY, {}, orgB);
    const message = (
      threadId: Id<"threads">,
      authorId: Id<"users">,
      body: string,
      createdAt: number,
      mentions: string[] = [],
      orgId: Id<"organizations"> = orgA,
    ) => db.insert("messages", { orgId, threadId, authorId, body, mentions, createdAt });
    const m1 = await message(th1, mariaUser, "Training moved to Pitch 2 tomorrow", N - 10 * HOUR);
    await message(th1, pat, "Thanks! Is @Jonny still in goal?", N - 9 * HOUR, ["Jonny"]);
    await message(th1, mariaUser, "Yes, and @ava starts", N - 8 * HOUR, ["ava"]);
    await message(th1, ghostUser, "Can someone share the kit list", N - 7 * HOUR);
    await message(th1, robin, "Leo has a cold, may skip training", N - 6 * HOUR);
    await message(th1, mariaUser, "Noted, thanks", N - 5 * HOUR);
    await message(th1, pat, "See you at training", N - 3 * HOUR);
    await message(th1, mariaUser, "Bring water bottles", N - 1 * HOUR);
    await message(th2, ghostUser, "Order by Friday", N - 3 * DAY);
    await message(th2, adminA, "Reminder: kit order closes", N - 2 * DAY);
    await message(th3, mariaUser, "Archived announcement", N - 20 * DAY);
    await message(th4, mariaUser, "Session plan attached", N - 5 * HOUR);
    await message(th4, tomUser, "Looks good", N - 4 * HOUR);
    await message(th4, mariaUser, "Great, training at 6", N - 3 * HOUR);
    await message(th6, mariaUser, "Tigers: match kit is blue", N - 4 * HOUR);
    await message(thB, adminB, "Welcome to the academy", N - 1 * DAY, [], orgB);
    const ghostMessage = await message(ghostThread, adminA, "This thread is gone", N - 5 * DAY);

    // ---- audit log ----------------------------------------------------------------
    const audit = (actorId: Id<"users">, action: string, entityId: string, daysAgo: number) =>
      db.insert("auditLog", {
        orgId: orgA,
        actorId,
        action,
        entityType: action.split(".")[0],
        entityId,
        createdAt: N - daysAgo * DAY,
      });
    await audit(adminA, "teams.create", tigers, 2);
    await audit(ghostUser, "sessions.create", s6, 5);
    await audit(mariaUser, "players.create", p1, 10);
    await audit(adminA, "teams.create", lions, 45);
    await audit(adminA, "enrollments.create", p9, 1);

    // ---- voice notes and insights ----------------------------------------------------
    const storageId = await ctx.storage.store(new Blob(["fake audio"], { type: "audio/webm" }));
    const note = (
      coachId: Id<"coaches">,
      source: "app" | "whatsapp",
      insightsStatus: "pending" | "processing" | "done" | "failed",
      hoursAgo: number,
      extra: { transcript?: string; error?: string } = {},
    ) =>
      db.insert("voiceNotes", {
        orgId: orgA,
        coachId,
        teamId: lions,
        storageId,
        durationSec: 42,
        source,
        insightsStatus,
        createdAt: N - hoursAgo * HOUR,
        ...extra,
      });
    const vn1 = await note(maria, "app", "done", 30, { transcript: "Jonny hurt his ankle. Ava great attitude." });
    const vn2 = await note(maria, "whatsapp", "done", 20, { transcript: "Leo saved two penalties." });
    const vn3 = await note(maria, "app", "pending", 10);
    const vn4 = await note(tom, "app", "failed", 5, { error: "transcription failed: HTTP 502" });
    const vn5 = await note(maria, "app", "processing", 2, { transcript: "Good session." });
    const insight = (
      voiceNoteId: Id<"voiceNotes">,
      category: "skill" | "attitude" | "fitness" | "medical",
      summary: string,
      confidence: number,
      k: number,
      playerId?: Id<"players">,
    ) =>
      db.insert("insights", {
        orgId: orgA,
        voiceNoteId,
        coachId: maria,
        category,
        summary,
        confidence,
        embedding: embedding(k),
        applied: false,
        createdAt: N - 29 * HOUR,
        ...(playerId ? { playerId } : {}),
      });
    const i1 = await insight(vn1, "medical", "Jonny Smith (Forward): hurt his ankle", 0.92, 1, p1);
    const i2 = await insight(vn1, "attitude", "Ava Brown: great attitude", 0.6, 2, p2);
    const i3 = await insight(vn1, "fitness", "Team: sharper than last week", 0.95, 3);
    const i4 = await insight(vn2, "skill", "Leo Green (Keeper): saved two penalties", 0.85, 4, p3);
    const ghostInsight = await insight(vn2, "skill", "removed", 0.1, 5, p3);

    // ---- aliases and invitations -----------------------------------------------------
    const alias = (orgId: Id<"organizations">, text: string, playerId: Id<"players">) =>
      db.insert("playerAliases", { orgId, alias: text, playerId, source: "manual" });
    await alias(orgA, "jonny", p1);
    await alias(orgA, "jonny s", p1);
    await alias(orgA, "#7", p1);
    await alias(orgA, "ava", p2);
    await alias(orgA, "#4", p2);
    await alias(orgA, "the keeper", p3);
    await alias(orgA, "gus", ghostPlayer); // alias of a deleted player
    await alias(orgB, "jonny", pb1);
    const invitation = (
      email: string,
      role: "admin" | "coach" | "parent" | "player",
      token: string,
      invitedBy: Id<"users">,
      status: "pending" | "accepted" | "expired",
      expiresAt: number,
      orgId: Id<"organizations"> = orgA,
    ) => db.insert("invitations", { orgId, email, role, token, invitedBy, status, expiresAt, createdAt: N - 4 * DAY });
    const invPending = await invitation("new.coach@example.com", "coach", "tok-pending", adminA, "pending", N + 3 * DAY);
    const invStale = await invitation("late.coach@example.com", "coach", "tok-stale", ghostUser, "pending", N - 1 * DAY);
    await invitation("parent@example.com", "parent", "tok-accepted", adminA, "accepted", N + 1 * DAY);
    await invitation("other.parent@example.com", "parent", "tok-parent", adminA, "pending", N + 5 * DAY);
    await invitation("b.coach@example.com", "coach", "tok-b", adminB, "pending", N + 2 * DAY, orgB);

    // ---- the dangling references: delete what others still point at ------------------
    await db.delete(ghostUser);
    await db.delete(ghostCoach);
    await db.delete(ghostPlayer);
    await db.delete(ghostTeam);
    await db.delete(ghostThread);
    await db.delete(ghostMessage);
    await db.delete(ghostInsight);

    return {
      orgA, orgB, orgC,
      adminA, mariaUser, tomUser, samUser, pat, robin, kim, jonnyUser, ghostUser, adminB,
      maria, tom, sam, ghostCoach, coachB,
      lions, tigers, cubs, hawks, ghostTeam, teamB,
      p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, ghostPlayer, pb1,
      s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, t1, t2, t3, sb1,
      th1, th2, th3, th4, th5, th6, ghostThread, thB, m1,
      vn1, vn2, vn3, vn4, vn5, i1, i2, i3, i4, ghostInsight,
      invPending, invStale, storageId,
    };
  });
}

/** Every document of every table (and the scheduler's queue), for state comparison. */
export async function dumpState(t: Backend) {
  return await t.run(async (ctx) => {
    const state: Record<string, unknown[]> = {};
    for (const table of Object.keys(schema.tables).sort() as TableNames[]) {
      state[table] = await ctx.db.query(table).collect();
    }
    state._scheduled_functions = await ctx.db.system.query("_scheduled_functions").collect();
    return state;
  });
}
