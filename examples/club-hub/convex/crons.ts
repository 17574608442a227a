import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();

crons.daily(
  "expire invitations",
  { hourUTC: 3, minuteUTC: 0 },
  internal.invitations.expireOld,
);

crons.daily(
  "plan session reminders",
  { hourUTC: 5, minuteUTC: 30 },
  internal.reminders.scheduleAll,
);

export default crons;
