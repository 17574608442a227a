import { ConvexError, v } from "convex/values";
import { internal } from "./_generated/api";
import { internalAction, internalMutation, internalQuery, mutation } from "./_generated/server";
import { authedMutation, authedQuery } from "./lib/functions";
import { recordAudit } from "./model/audit";
import { role } from "./schema";
import { assertRole, assertSameOrg } from "./model/users";

const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const create = authedMutation({
  args: { orgId: v.id("organizations"), email: v.string(), role },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    assertRole(ctx.user, ["admin"]);
    const now = Date.now();
    const invitationId = await ctx.db.insert("invitations", {
      orgId: args.orgId,
      email: args.email.trim().toLowerCase(),
      role: args.role,
      token: newToken(),
      invitedBy: ctx.user._id,
      status: "pending",
      expiresAt: now + INVITE_TTL_MS,
      createdAt: now,
    });
    await ctx.scheduler.runAfter(0, internal.invitations.sendEmail, { invitationId });
    await recordAudit(ctx, {
      orgId: args.orgId,
      actorId: ctx.user._id,
      action: "invitation.create",
      entityType: "invitations",
      entityId: invitationId,
      metadata: { role: args.role },
    });
    return invitationId;
  },
});

/** Pending invitations of one role, for the "people" admin page. */
export const listPending = authedQuery({
  args: { orgId: v.id("organizations"), role },
  handler: async (ctx, args) => {
    assertSameOrg(ctx.user, args.orgId);
    assertRole(ctx.user, ["admin"]);
    return await ctx.db
      .query("invitations")
      .filter((q) =>
        q.and(
          q.eq(q.field("orgId"), args.orgId),
          q.eq(q.field("status"), "pending"),
          q.eq(q.field("role"), args.role),
        ),
      )
      .collect();
  },
});

/** The invitee clicked the link and signed in with Better Auth. */
export const accept = mutation({
  args: { token: v.string() },
  handler: async (ctx, args) => {
    const identity = await ctx.auth.getUserIdentity();
    if (identity === null) {
      throw new ConvexError("Sign in to accept the invitation");
    }
    const invitation = await ctx.db
      .query("invitations")
      .withIndex("by_token", (q) => q.eq("token", args.token))
      .unique();
    if (invitation === null || invitation.status !== "pending") {
      throw new ConvexError("This invitation is no longer valid");
    }
    if (invitation.expiresAt < Date.now()) {
      await ctx.db.patch(invitation._id, { status: "expired" });
      throw new ConvexError("This invitation has expired");
    }
    const existing = await ctx.db
      .query("users")
      .withIndex("by_email", (q) => q.eq("email", invitation.email))
      .first();
    const userId =
      existing?._id ??
      (await ctx.db.insert("users", {
        authId: identity.subject,
        orgId: invitation.orgId,
        name: identity.name ?? invitation.email,
        email: invitation.email,
        role: invitation.role,
        createdAt: Date.now(),
      }));
    if (invitation.role === "coach") {
      await ctx.db.insert("coaches", {
        orgId: invitation.orgId,
        userId,
        displayName: identity.name ?? invitation.email,
        canSeeMedical: false,
        active: true,
      });
    }
    await ctx.db.patch(invitation._id, { status: "accepted" });
    return invitation.orgId;
  },
});

export const getForEmail = internalQuery({
  args: { invitationId: v.id("invitations") },
  handler: async (ctx, args) => {
    const invitation = await ctx.db.get(args.invitationId);
    if (invitation === null) {
      return null;
    }
    const org = await ctx.db.get(invitation.orgId);
    const inviter = await ctx.db.get(invitation.invitedBy);
    return {
      email: invitation.email,
      token: invitation.token,
      role: invitation.role,
      orgName: org?.name ?? "your club",
      inviterName: inviter?.name ?? "A club admin",
    };
  },
});

export const sendEmail = internalAction({
  args: { invitationId: v.id("invitations") },
  handler: async (ctx, args) => {
    const invite = await ctx.runQuery(internal.invitations.getForEmail, {
      invitationId: args.invitationId,
    });
    if (invite === null) {
      return;
    }
    const link = `${process.env.SITE_URL}/join/${invite.token}`;
    const response = await fetch("https://api.resend.com/emails", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${process.env.RESEND_API_KEY}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({
        from: "Club Hub <noreply@clubhub.example>",
        to: invite.email,
        subject: `${invite.inviterName} invited you to ${invite.orgName}`,
        html: `<p>You have been invited to join ${invite.orgName} as a ${invite.role}.</p><p><a href="${link}">Accept the invitation</a></p>`,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      throw new Error(`email provider answered HTTP ${response.status}`);
    }
  },
});

/** Daily cron: mark stale invitations as expired. */
export const expireOld = internalMutation({
  args: {},
  handler: async (ctx) => {
    const now = Date.now();
    const all = await ctx.db.query("invitations").collect();
    let expired = 0;
    for (const invitation of all) {
      if (invitation.status === "pending" && invitation.expiresAt < now) {
        await ctx.db.patch(invitation._id, { status: "expired" });
        expired += 1;
      }
    }
    return expired;
  },
});
