import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { medicalTables } from "./schema/medical";

export const role = v.union(
  v.literal("admin"),
  v.literal("coach"),
  v.literal("parent"),
  v.literal("player"),
);

export const sessionStatus = v.union(
  v.literal("scheduled"),
  v.literal("done"),
  v.literal("cancelled"),
);

export const insightsStatus = v.union(
  v.literal("pending"),
  v.literal("processing"),
  v.literal("done"),
  v.literal("failed"),
);

// Training sessions, matches and club events. Defined on its own because the
// reminder scheduler and the calendar export both import the validator.
const sessionsTable = defineTable({
  orgId: v.id("organizations"),
  teamId: v.id("teams"),
  coachId: v.optional(v.id("coaches")),
  title: v.string(),
  kind: v.union(v.literal("training"), v.literal("match"), v.literal("event")),
  location: v.optional(v.string()),
  startsAt: v.number(),
  endsAt: v.number(),
  status: sessionStatus,
  createdAt: v.number(),
})
  .index("by_orgId", ["orgId"])
  .index("by_teamId_and_startsAt", ["teamId", "startsAt"]);

const auditLog = defineTable({
  orgId: v.id("organizations"),
  actorId: v.id("users"),
  action: v.string(),
  entityType: v.string(),
  entityId: v.string(),
  metadata: v.optional(v.any()),
  createdAt: v.number(),
})
  .index("by_orgId_and_createdAt", ["orgId", "createdAt"])
  .index("by_actorId", ["actorId"]);

export default defineSchema({
  organizations: defineTable({
    name: v.string(),
    slug: v.string(),
    plan: v.union(v.literal("free"), v.literal("club"), v.literal("academy")),
    timezone: v.string(),
    createdAt: v.number(),
  }).index("by_slug", ["slug"]),

  // App-side profile. `authId` is the Better Auth user id (`user._id` in the
  // betterAuth component), copied here on first sign-in.
  users: defineTable({
    authId: v.string(),
    orgId: v.id("organizations"),
    name: v.string(),
    email: v.string(),
    role,
    avatarUrl: v.optional(v.string()),
    createdAt: v.number(),
  })
    .index("by_authId", ["authId"])
    .index("by_email", ["email"])
    .index("by_orgId_and_role", ["orgId", "role"]),

  coaches: defineTable({
    orgId: v.id("organizations"),
    userId: v.id("users"),
    displayName: v.string(),
    specialty: v.optional(v.string()),
    canSeeMedical: v.boolean(),
    active: v.boolean(),
  })
    .index("by_orgId", ["orgId"])
    .index("by_userId", ["userId"]),

  teams: defineTable({
    orgId: v.id("organizations"),
    name: v.string(),
    ageGroup: v.string(),
    season: v.string(),
    headCoachId: v.id("coaches"),
    assistantCoachIds: v.array(v.id("coaches")),
    archived: v.boolean(),
  })
    .index("by_orgId", ["orgId"])
    .index("by_season", { fields: ["season"] }),

  players: defineTable({
    orgId: v.id("organizations"),
    userId: v.optional(v.id("users")),
    guardianUserId: v.optional(v.id("users")),
    firstName: v.string(),
    lastName: v.string(),
    fullName: v.string(),
    dateOfBirth: v.string(),
    position: v.optional(v.string()),
    jerseyNumber: v.optional(v.number()),
    status: v.union(
      v.literal("active"),
      v.literal("inactive"),
      v.literal("injured"),
    ),
    createdAt: v.number(),
  })
    .index("by_orgId_and_status", ["orgId", "status"])
    .index("by_userId", ["userId"])
    .index("by_guardianUserId", ["guardianUserId"])
    .searchIndex("search_fullName", {
      searchField: "fullName",
      filterFields: ["orgId"],
    }),

  // Nicknames and spellings coaches use for a player in voice notes and
  // messages ("Jonny", "number 7", "the keeper"), normalised to lower case.
  playerAliases: defineTable({
    orgId: v.id("organizations"),
    alias: v.string(),
    playerId: v.id("players"),
    source: v.union(v.literal("manual"), v.literal("voice")),
  }).index("by_orgId_and_alias", ["orgId", "alias"]),

  enrollments: defineTable({
    orgId: v.id("organizations"),
    teamId: v.id("teams"),
    playerId: v.id("players"),
    season: v.string(),
    status: v.union(
      v.literal("pending"),
      v.literal("active"),
      v.literal("withdrawn"),
    ),
    enrolledAt: v.number(),
  })
    .index("by_teamId_and_status", ["teamId", "status"])
    .index("by_playerId", ["playerId"])
    .index("by_orgId_and_status", ["orgId", "status"]),

  sessions: sessionsTable,

  attendance: defineTable({
    orgId: v.id("organizations"),
    sessionId: v.id("sessions"),
    playerId: v.id("players"),
    status: v.union(
      v.literal("present"),
      v.literal("late"),
      v.literal("absent"),
      v.literal("excused"),
    ),
    markedBy: v.id("users"),
    markedAt: v.number(),
  })
    .index("by_sessionId", ["sessionId"])
    .index("by_sessionId_and_playerId", ["sessionId", "playerId"])
    .index("by_playerId", ["playerId"]),

  threads: defineTable({
    orgId: v.id("organizations"),
    teamId: v.optional(v.id("teams")),
    title: v.string(),
    createdBy: v.id("users"),
    lastMessageAt: v.number(),
    archived: v.boolean(),
  }).index("by_orgId_and_lastMessageAt", ["orgId", "lastMessageAt"]),

  messages: defineTable({
    orgId: v.id("organizations"),
    threadId: v.id("threads"),
    authorId: v.id("users"),
    body: v.string(),
    mentions: v.array(v.string()),
    createdAt: v.number(),
  })
    .index("by_threadId", ["threadId"])
    .index("by_orgId_and_createdAt", ["orgId", "createdAt"])
    .searchIndex("search_body", {
      searchField: "body",
      filterFields: ["orgId", "threadId"],
    }),

  voiceNotes: defineTable({
    orgId: v.id("organizations"),
    coachId: v.id("coaches"),
    teamId: v.optional(v.id("teams")),
    storageId: v.id("_storage"),
    durationSec: v.number(),
    source: v.union(v.literal("app"), v.literal("whatsapp")),
    transcript: v.optional(v.string()),
    insightsStatus,
    error: v.optional(v.string()),
    createdAt: v.number(),
  })
    .index("by_orgId", ["orgId"])
    .index("by_coachId", ["coachId"]),

  insights: defineTable({
    orgId: v.id("organizations"),
    voiceNoteId: v.id("voiceNotes"),
    coachId: v.id("coaches"),
    playerId: v.optional(v.id("players")),
    category: v.union(
      v.literal("skill"),
      v.literal("attitude"),
      v.literal("fitness"),
      v.literal("medical"),
    ),
    summary: v.string(),
    confidence: v.number(),
    embedding: v.array(v.float64()),
    applied: v.boolean(),
    createdAt: v.number(),
  })
    .index("by_voiceNoteId", ["voiceNoteId"])
    .index("by_playerId", ["playerId"])
    .vectorIndex("by_embedding", {
      vectorField: "embedding",
      dimensions: 1536,
      filterFields: ["orgId", "playerId"],
    }),

  invitations: defineTable({
    orgId: v.id("organizations"),
    email: v.string(),
    role,
    token: v.string(),
    invitedBy: v.id("users"),
    status: v.union(
      v.literal("pending"),
      v.literal("accepted"),
      v.literal("expired"),
    ),
    expiresAt: v.number(),
    createdAt: v.number(),
  }).index("by_token", ["token"]),

  auditLog,

  ...medicalTables,
});
