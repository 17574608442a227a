/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * Written by hand for the convex-xray example. `npx convex dev` would type
 * these from the modules in convex/; here they are deliberately loose
 * (`anyApi`) so the example typechecks without a deployment.
 */

import { anyApi, componentsGeneric } from "convex/server";

/**
 * A utility for referencing Convex functions in your app's public API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
export const api: any = anyApi;

/**
 * A utility for referencing Convex functions in your app's internal API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = internal.myModule.myFunction;
 * ```
 */
export const internal: any = anyApi;

/** References to the functions of the components this app uses. */
export const components: any = componentsGeneric();
