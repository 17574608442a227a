import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import {
  type ActionCtx,
  action,
  internalAction,
  internalMutation,
  internalQuery,
} from "./_generated/server";
import { normalizeAlias } from "./model/aliases";
import { requireUser } from "./model/users";

const CHAT_URL = "https://api.openai.com/v1/chat/completions";
const EMBEDDINGS_URL = "https://api.openai.com/v1/embeddings";
const AUTO_APPLY_CONFIDENCE = 0.8;

const category = v.union(
  v.literal("skill"),
  v.literal("attitude"),
  v.literal("fitness"),
  v.literal("medical"),
);

type Category = "skill" | "attitude" | "fitness" | "medical";

type ExtractedMention = {
  name: string;
  text: string;
  category: Category;
  confidence: number;
};

type PlayerContext = { _id: Id<"players">; name: string; position: string | null };

function openAiHeaders() {
  return {
    Authorization: `Bearer ${process.env.OPENAI_API_KEY}`,
    "Content-Type": "application/json",
  };
}

/** Ask the model which players the coach talked about, and what was said. */
async function extractMentions(transcript: string): Promise<ExtractedMention[]> {
  const response = await fetch(CHAT_URL, {
    method: "POST",
    headers: openAiHeaders(),
    body: JSON.stringify({
      model: "gpt-4o-mini",
      response_format: { type: "json_object" },
      messages: [
        {
          role: "system",
          content:
            "You read a youth football coach's voice note and return JSON " +
            '{"mentions":[{"name","text","category","confidence"}]} where category ' +
            "is one of skill, attitude, fitness, medical.",
        },
        { role: "user", content: transcript },
      ],
    }),
  });
  if (!response.ok) {
    throw new Error(`insight extraction failed: HTTP ${response.status}`);
  }
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  const parsed = JSON.parse(body.choices[0].message.content) as { mentions?: ExtractedMention[] };
  return parsed.mentions ?? [];
}

async function embed(texts: string[]): Promise<number[][]> {
  if (texts.length === 0) {
    return [];
  }
  const response = await fetch(EMBEDDINGS_URL, {
    method: "POST",
    headers: openAiHeaders(),
    body: JSON.stringify({ model: "text-embedding-3-small", input: texts }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    throw new Error(`embedding failed: HTTP ${response.status}`);
  }
  const body = (await response.json()) as { data: { embedding: number[] }[] };
  return body.data.map((d) => d.embedding);
}

async function loadPlayerContext(
  ctx: ActionCtx,
  playerId: Id<"players">,
): Promise<PlayerContext | null> {
  return await ctx.runQuery(internal.players.getForInsight, { playerId });
}

/** Voice note transcript -> per-player insights with embeddings. */
export const generate = internalAction({
  args: { voiceNoteId: v.id("voiceNotes") },
  handler: async (ctx, args) => {
    const note = await ctx.runQuery(internal.voiceNotes.getNote, {
      voiceNoteId: args.voiceNoteId,
    });
    if (note === null || !note.transcript) {
      return;
    }
    try {
      const mentions = await extractMentions(note.transcript);

      // Resolve every name the coach used to a player, learning new aliases.
      const playerByName = new Map<string, Id<"players"> | null>();
      for (const mention of mentions) {
        const alias = await ctx.runQuery(internal.players.lookupAlias, {
          orgId: note.orgId,
          alias: mention.name,
        });
        let playerId: Id<"players"> | null = alias?.playerId ?? null;
        if (playerId === null) {
          const match = await ctx.runQuery(internal.players.searchByName, {
            orgId: note.orgId,
            name: mention.name,
          });
          if (match !== null) {
            playerId = match._id;
            await ctx.runMutation(internal.players.storeAlias, {
              orgId: note.orgId,
              alias: mention.name,
              playerId: match._id,
            });
          }
        }
        playerByName.set(mention.name, playerId);
      }

      const summaries: string[] = [];
      for (const mention of mentions) {
        const playerId = playerByName.get(mention.name) ?? null;
        const player = playerId ? await loadPlayerContext(ctx, playerId) : null;
        const who = player ? `${player.name}${player.position ? ` (${player.position})` : ""}` : mention.name;
        summaries.push(`${who}: ${mention.text}`);
      }

      const embeddings = await embed(summaries);
      await ctx.runMutation(internal.insights.saveMany, {
        voiceNoteId: note._id,
        insights: mentions.map((mention, i) => ({
          playerId: playerByName.get(mention.name) ?? undefined,
          category: mention.category,
          summary: summaries[i],
          confidence: mention.confidence,
          embedding: embeddings[i],
        })),
      });
      await ctx.runMutation(internal.voiceNotes.setStatus, {
        voiceNoteId: note._id,
        status: "done",
      });
      await ctx.scheduler.runAfter(0, internal.insights.applyConfident, {
        voiceNoteId: note._id,
      });
    } catch (error) {
      await ctx.runMutation(internal.voiceNotes.setStatus, {
        voiceNoteId: note._id,
        status: "failed",
        error: error instanceof Error ? error.message : String(error),
      });
    }
  },
});

/** Apply high-confidence insights (e.g. open an injury record) automatically. */
export const applyConfident = internalAction({
  args: { voiceNoteId: v.id("voiceNotes") },
  handler: async (ctx, args) => {
    const insights: Doc<"insights">[] = await ctx.runQuery(
      internal.insights.listForNote,
      { voiceNoteId: args.voiceNoteId },
    );
    let applied = 0;
    for (const insight of insights) {
      if (!insight.applied && insight.confidence >= AUTO_APPLY_CONFIDENCE) {
        await ctx.runMutation(internal.insights.applyOne, { insightId: insight._id });
        applied += 1;
      }
    }
    return applied;
  },
});

/** Resolve the @mentions of a chat message (one query, one mutation). */
export const linkMentions = internalAction({
  args: {
    orgId: v.id("organizations"),
    messageId: v.id("messages"),
    mentions: v.array(v.string()),
  },
  handler: async (ctx, args) => {
    const known: Record<string, Id<"players">> = await ctx.runQuery(
      internal.players.lookupAliases,
      { orgId: args.orgId, aliases: args.mentions },
    );
    const playerIds = [
      ...new Set(
        args.mentions
          .map((m) => known[normalizeAlias(m)])
          .filter((id): id is Id<"players"> => id !== undefined),
      ),
    ];
    if (playerIds.length > 0) {
      await ctx.runMutation(internal.insights.recordMentions, {
        messageId: args.messageId,
        playerIds,
      });
    }
  },
});

/** "Find similar notes" on the player page. */
export const findSimilar = action({
  args: { insightId: v.id("insights") },
  handler: async (ctx, args): Promise<Doc<"insights">[]> => {
    const source: Doc<"insights"> | null = await ctx.runQuery(internal.insights.getOne, {
      insightId: args.insightId,
    });
    if (source === null) {
      return [];
    }
    const results = await ctx.vectorSearch("insights", "by_embedding", {
      vector: source.embedding,
      limit: 10,
      filter: (q) => q.eq("orgId", source.orgId),
    });
    const ids = results.map((r) => r._id).filter((id) => id !== source._id);
    return await ctx.runQuery(internal.insights.fetchMany, { ids });
  },
});

export const getOne = internalQuery({
  args: { insightId: v.id("insights") },
  handler: async (ctx, args) => {
    const insight = await ctx.db.get(args.insightId);
    if (insight === null) {
      return null;
    }
    const viewer = await requireUser(ctx);
    return viewer.orgId === insight.orgId ? insight : null;
  },
});

export const fetchMany = internalQuery({
  args: { ids: v.array(v.id("insights")) },
  handler: async (ctx, args) => {
    const ids = [...new Set(args.ids)];
    const docs = await Promise.all(ids.map((id) => ctx.db.get(id)));
    const byId = new Map(docs.filter((d) => d !== null).map((d) => [d._id, d]));
    return args.ids.flatMap((id) => {
      const doc = byId.get(id);
      return doc ? [doc] : [];
    });
  },
});

export const listForNote = internalQuery({
  args: { voiceNoteId: v.id("voiceNotes") },
  handler: async (ctx, args) => {
    return await ctx.db
      .query("insights")
      .withIndex("by_voiceNoteId", (q) => q.eq("voiceNoteId", args.voiceNoteId))
      .take(100);
  },
});

export const saveMany = internalMutation({
  args: {
    voiceNoteId: v.id("voiceNotes"),
    insights: v.array(
      v.object({
        playerId: v.optional(v.id("players")),
        category,
        summary: v.string(),
        confidence: v.number(),
        embedding: v.array(v.float64()),
      }),
    ),
  },
  handler: async (ctx, args) => {
    const note = await ctx.db.get(args.voiceNoteId);
    if (note === null) {
      return;
    }
    const now = Date.now();
    for (const insight of args.insights) {
      await ctx.db.insert("insights", {
        ...insight,
        orgId: note.orgId,
        voiceNoteId: note._id,
        coachId: note.coachId,
        applied: false,
        createdAt: now,
      });
    }
  },
});

export const applyOne = internalMutation({
  args: { insightId: v.id("insights") },
  handler: async (ctx, args) => {
    const insight = await ctx.db.get(args.insightId);
    if (insight === null || insight.applied) {
      return;
    }
    if (insight.category === "medical" && insight.playerId) {
      const coach = await ctx.db.get(insight.coachId);
      if (coach !== null) {
        await ctx.db.insert("injuries", {
          orgId: insight.orgId,
          playerId: insight.playerId,
          description: insight.summary,
          bodyPart: "unspecified",
          severity: "moderate",
          status: "open",
          reportedBy: coach.userId,
          reportedAt: Date.now(),
        });
      }
    }
    await ctx.db.patch(insight._id, { applied: true });
  },
});

export const recordMentions = internalMutation({
  args: { messageId: v.id("messages"), playerIds: v.array(v.id("players")) },
  handler: async (ctx, args) => {
    const message = await ctx.db.get(args.messageId);
    if (message === null) {
      return;
    }
    await ctx.db.insert("auditLog", {
      orgId: message.orgId,
      actorId: message.authorId,
      action: "message.mention",
      entityType: "messages",
      entityId: message._id,
      metadata: { playerIds: args.playerIds },
      createdAt: Date.now(),
    });
  },
});
