import { defineComponent } from "convex/server";

// Local install of the Better Auth component, so that the app owns the schema
// of the auth tables (see ./schema.ts).
const component = defineComponent("betterAuth");

export default component;
