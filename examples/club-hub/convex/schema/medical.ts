import { defineTable } from "convex/server";
import { v } from "convex/values";

export const severity = v.union(
  v.literal("low"),
  v.literal("moderate"),
  v.literal("high"),
  v.literal("critical"),
);

/**
 * Medical information about players. Kept in its own file because only
 * coaches with the "medical" permission and club admins can read it.
 */
export const medicalTables = {
  injuries: defineTable({
    orgId: v.id("organizations"),
    playerId: v.id("players"),
    description: v.string(),
    bodyPart: v.string(),
    severity,
    status: v.union(
      v.literal("open"),
      v.literal("recovering"),
      v.literal("resolved"),
    ),
    reportedBy: v.id("users"),
    reportedAt: v.number(),
    resolvedAt: v.optional(v.number()),
  })
    .index("by_playerId", ["playerId"])
    .index("by_orgId_and_status", ["orgId", "status"]),

  allergies: defineTable({
    playerId: v.id("players"),
    allergen: v.string(),
    severity,
    carriesEpiPen: v.boolean(),
    notes: v.optional(v.string()),
  }).index("by_playerId", ["playerId"]),

  emergencyContacts: defineTable({
    playerId: v.id("players"),
    name: v.string(),
    relation: v.string(),
    phone: v.string(),
    isPrimary: v.boolean(),
  }).index("by_playerId", ["playerId"]),
};
