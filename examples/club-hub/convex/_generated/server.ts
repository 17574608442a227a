/* eslint-disable */
/**
 * Generated utilities for implementing server-side Convex query and mutation functions.
 *
 * Written by hand for the convex-xray example so that the app typechecks
 * without a Convex deployment. It has the same shape as what `npx convex dev`
 * writes.
 */

import {
  actionGeneric,
  httpActionGeneric,
  queryGeneric,
  mutationGeneric,
  internalActionGeneric,
  internalMutationGeneric,
  internalQueryGeneric,
} from "convex/server";
import type {
  ActionBuilder,
  HttpActionBuilder,
  MutationBuilder,
  QueryBuilder,
  GenericActionCtx,
  GenericMutationCtx,
  GenericQueryCtx,
  GenericDatabaseReader,
  GenericDatabaseWriter,
} from "convex/server";
import type { DataModel } from "./dataModel.js";

/** Define a query in this Convex app's public API. */
export const query: QueryBuilder<DataModel, "public"> = queryGeneric;

/** Define a query that is only accessible from other Convex functions. */
export const internalQuery: QueryBuilder<DataModel, "internal"> =
  internalQueryGeneric;

/** Define a mutation in this Convex app's public API. */
export const mutation: MutationBuilder<DataModel, "public"> = mutationGeneric;

/** Define a mutation that is only accessible from other Convex functions. */
export const internalMutation: MutationBuilder<DataModel, "internal"> =
  internalMutationGeneric;

/** Define an action in this Convex app's public API. */
export const action: ActionBuilder<DataModel, "public"> = actionGeneric;

/** Define an action that is only accessible from other Convex functions. */
export const internalAction: ActionBuilder<DataModel, "internal"> =
  internalActionGeneric;

/** Define an HTTP action. */
export const httpAction: HttpActionBuilder = httpActionGeneric;

/** The services available to a query function. */
export type QueryCtx = GenericQueryCtx<DataModel>;

/** The services available to a mutation function. */
export type MutationCtx = GenericMutationCtx<DataModel>;

/** The services available to an action function. */
export type ActionCtx = GenericActionCtx<DataModel>;

/** An interface to read from the database within Convex query functions. */
export type DatabaseReader = GenericDatabaseReader<DataModel>;

/** An interface to read from and write to the database within mutations. */
export type DatabaseWriter = GenericDatabaseWriter<DataModel>;
