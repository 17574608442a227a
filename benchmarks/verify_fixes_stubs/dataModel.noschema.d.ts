import type { AnyDataModel, GenericDocument } from "convex/server";
import type { GenericId } from "convex/values";
export type DataModel = AnyDataModel;
export type TableNames = string;
export type Doc<TableName extends TableNames> = GenericDocument;
export type Id<TableName extends TableNames> = GenericId<TableName>;
