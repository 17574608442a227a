import { paginationOptsValidator } from "convex/server";
import { ConvexError, v } from "convex/values";
import { internal } from "./_generated/api";
import { authedMutation, authedQuery } from "./lib/functions";
import { assertSameOrg, displayName } from "./model/users";

/** Inbox: the most recently active threads, with their size and creator. */
export const listThreads = authedQuery({
  args: { orgId: v.id("organizations") },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    const threads = await ctx.db
      .query("threads")
      .withIndex("by_orgId_and_lastMessageAt", (q) => q.eq("orgId", args.orgId))
      .order("desc")
      .take(20);

    const inbox = [];
    for (const t of threads) {
      if (t.archived) continue;
      const creator = await ctx.db.get("users", t.createdBy);
      const messages = await ctx.db
        .query("messages")
        .withIndex("by_threadId", (q) => q.eq("threadId", t._id))
        .collect();
      inbox.push({
        ...t,
        createdByName: creator ? displayName(creator) : "(deleted user)",
        messageCount: messages.length,
      });
    }
    return inbox;
  },
});

/** One page of a thread, newest first, with each message's author. */
export const listMessages = authedQuery({
  args: { threadId: v.id("threads"), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    const thread = await ctx.db.get(args.threadId);
    if (thread === null) {
      throw new ConvexError("Thread not found");
    }
    assertSameOrg(ctx.user, thread.orgId);
    const page = await ctx.db
      .query("messages")
      .withIndex("by_threadId", (q) => q.eq("threadId", args.threadId))
      .order("desc")
      .paginate(args.paginationOpts);

    const withAuthors = await Promise.all(
      page.page.map(async (m) => {
        const author = await ctx.db.get(m.authorId);
        return { ...m, author: author ? displayName(author) : "(deleted user)" };
      }),
    );
    return { ...page, page: withAuthors };
  },
});

/** Thread preview in the team sidebar: the last ten messages. */
export const recent = authedQuery({
  args: { threadId: v.id("threads") },
  handler: async (ctx, args) => {
    const thread = await ctx.db.get(args.threadId);
    if (thread === null) {
      return [];
    }
    assertSameOrg(ctx.user, thread.orgId);
    return (
      await ctx.db
        .query("messages")
        .withIndex("by_threadId", (q) => q.eq("threadId", args.threadId))
        .order("desc")
        .collect()
    ).slice(0, 10);
  },
});

/** Badge count: messages in the club since the user last opened the inbox. */
export const newSince = authedQuery({
  args: { orgId: v.id("organizations"), since: v.number() },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    const all = await ctx.db
      .query("messages")
      .withIndex("by_orgId_and_createdAt", (q) => q.eq("orgId", args.orgId))
      .collect();
    const fresh = all.filter((m) => m.createdAt > args.since && m.authorId !== ctx.user._id);
    return { count: fresh.length, threads: [...new Set(fresh.map((m) => m.threadId))] };
  },
});

export const search = authedQuery({
  args: { orgId: v.id("organizations"), text: v.string() },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    return await ctx.db
      .query("messages")
      .withSearchIndex("search_body", (q) =>
        q.search("body", args.text).eq("orgId", args.orgId),
      )
      .take(20);
  },
});

export const createThread = authedMutation({
  args: {
    orgId: v.id("organizations"),
    teamId: v.optional(v.id("teams")),
    title: v.string(),
  },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    return await ctx.db.insert("threads", {
      ...args,
      createdBy: ctx.user._id,
      lastMessageAt: Date.now(),
      archived: false,
    });
  },
});

const MENTION = /@([\p{L}0-9#][\p{L}0-9#' -]{0,30}?)(?=[\s,.!?]|$)/gu;

export const send = authedMutation({
  args: { threadId: v.id("threads"), body: v.string() },
  handler: async (ctx, args) => {
    const thread = await ctx.db.get(args.threadId);
    if (thread === null || thread.archived) {
      throw new ConvexError("Thread is closed");
    }
    assertSameOrg(ctx.user, thread.orgId);
    const now = Date.now();
    const mentions = [...args.body.matchAll(MENTION)].map((m) => m[1].trim());
    const messageId = await ctx.db.insert("messages", {
      orgId: thread.orgId,
      threadId: thread._id,
      authorId: ctx.user._id,
      body: args.body,
      mentions,
      createdAt: now,
    });
    await ctx.db.patch(thread._id, { lastMessageAt: now });
    if (mentions.length > 0) {
      await ctx.scheduler.runAfter(0, internal.insights.linkMentions, {
        orgId: thread.orgId,
        messageId,
        mentions,
      });
    }
    return messageId;
  },
});
