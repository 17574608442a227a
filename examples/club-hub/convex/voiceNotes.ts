import { ConvexError, v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { internalAction, internalMutation, internalQuery } from "./_generated/server";
import { authedMutation, authedQuery } from "./lib/functions";
import { insightsStatus } from "./schema";
import { assertSameOrg } from "./model/users";

const TRANSCRIBE_URL = "https://api.transcribe.example.com/v1/transcriptions";

export const generateUploadUrl = authedMutation({
  args: {},
  handler: async (ctx) => {
    return await ctx.storage.generateUploadUrl();
  },
});

/** A coach finished recording: store the note and start the pipeline. */
export const create = authedMutation({
  args: {
    storageId: v.id("_storage"),
    durationSec: v.number(),
    teamId: v.optional(v.id("teams")),
    source: v.optional(v.union(v.literal("app"), v.literal("whatsapp"))),
  },
  handler: async (ctx, args) => {
    const coach = await ctx.db
      .query("coaches")
      .withIndex("by_userId", (q) => q.eq("userId", ctx.user._id))
      .unique();
    if (coach === null || !coach.active) {
      throw new ConvexError("Only active coaches can record voice notes");
    }
    const voiceNoteId = await ctx.db.insert("voiceNotes", {
      orgId: coach.orgId,
      coachId: coach._id,
      teamId: args.teamId,
      storageId: args.storageId,
      durationSec: args.durationSec,
      source: args.source ?? "app",
      insightsStatus: "pending",
      createdAt: Date.now(),
    });
    await ctx.scheduler.runAfter(0, internal.voiceNotes.transcribe, { voiceNoteId });
    return voiceNoteId;
  },
});

/** Admin view: notes still waiting for insights across the club. */
export const listPendingForOrg = authedQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    return await ctx.db
      .query("voiceNotes")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .filter((q) => q.eq(q.field("insightsStatus"), "pending"))
      .collect();
  },
});

/** A coach's processed notes recorded in the app (not forwarded from WhatsApp). */
export const listProcessedForCoach = authedQuery({
  args: { coachId: v.id("coaches") },
  handler: async (ctx, args) => {
    const coach = await ctx.db.get(args.coachId);
    if (coach === null) {
      return [];
    }
    assertSameOrg(ctx.user, coach.orgId);
    return await ctx.db
      .query("voiceNotes")
      .withIndex("by_coachId", (q) => q.eq("coachId", args.coachId))
      .filter((q) =>
        q.and(
          q.eq(q.field("insightsStatus"), "done"),
          q.eq(q.field("source"), "app"),
        ),
      )
      .order("desc")
      .take(50);
  },
});

export const getNote = internalQuery({
  args: { voiceNoteId: v.id("voiceNotes") },
  handler: async (ctx, args) => {
    const note = await ctx.db.get(args.voiceNoteId);
    if (note === null) {
      return null;
    }
    const audioUrl = await ctx.storage.getUrl(note.storageId);
    const coach = await ctx.db.get(note.coachId);
    return { ...note, audioUrl, coachUserId: coach?.userId ?? null };
  },
});

export const listFailed = internalQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    const notes = await ctx.db
      .query("voiceNotes")
      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
      .collect();
    return notes
      .filter((n) => n.insightsStatus === "failed")
      .map((n) => n._id);
  },
});

export const saveTranscript = internalMutation({
  args: { voiceNoteId: v.id("voiceNotes"), transcript: v.string() },
  handler: async (ctx, args) => {
    await ctx.db.patch(args.voiceNoteId, {
      transcript: args.transcript,
      insightsStatus: "processing",
      error: undefined,
    });
    await ctx.scheduler.runAfter(0, internal.insights.generate, {
      voiceNoteId: args.voiceNoteId,
    });
  },
});

export const setStatus = internalMutation({
  args: {
    voiceNoteId: v.id("voiceNotes"),
    status: insightsStatus,
    error: v.optional(v.string()),
  },
  handler: async (ctx, args) => {
    await ctx.db.patch(args.voiceNoteId, {
      insightsStatus: args.status,
      error: args.error,
    });
  },
});

type TranscriptionResponse = { text: string; language: string; duration: number };

/** Send the recording to the transcription service and store the text. */
export const transcribe = internalAction({
  args: { voiceNoteId: v.id("voiceNotes") },
  handler: async (ctx, args) => {
    const note = await ctx.runQuery(internal.voiceNotes.getNote, {
      voiceNoteId: args.voiceNoteId,
    });
    if (note === null || note.audioUrl === null) {
      return;
    }
    const response = await fetch(TRANSCRIBE_URL, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${process.env.TRANSCRIBE_API_KEY}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({
        audio_url: note.audioUrl,
        language: "en",
        vocabulary: ["offside", "rondo", "overlap", "press"],
      }),
    });
    if (!response.ok) {
      await ctx.runMutation(internal.voiceNotes.setStatus, {
        voiceNoteId: args.voiceNoteId,
        status: "failed",
        error: `transcription failed: HTTP ${response.status}`,
      });
      return;
    }
    const result = (await response.json()) as TranscriptionResponse;
    await ctx.runMutation(internal.voiceNotes.saveTranscript, {
      voiceNoteId: args.voiceNoteId,
      transcript: result.text,
    });
  },
});

/** Nightly: give failed notes another go. */
export const retryFailed = internalAction({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    const failed: Id<"voiceNotes">[] = await ctx.runQuery(
      internal.voiceNotes.listFailed,
      { orgId: args.orgId },
    );
    for (const voiceNoteId of failed) {
      await ctx.runAction(internal.voiceNotes.transcribe, { voiceNoteId });
    }
    return failed.length;
  },
});
