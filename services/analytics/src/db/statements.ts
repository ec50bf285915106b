// The service's SQL, each statement with the operation and table it touches, and the pg
// span naming built on them. No `pg` import here: telemetry.ts loads this module before the
// instrumentation has patched `pg`.
//
// Why a lookup and not a parser: instrumentation-pg (0.76, and upstream to this day) names
// query spans `pg.query:{FIRST WORD} {database}` whatever OTEL_SEMCONV_STABILITY_OPT_IN says,
// and has no span-name option; its requestHook sees the query text. We own every statement,
// so each one says what it is, and the hook renames the span to the convention's
// `{db.operation.name} {target}` (also the `db.query.summary`).
import type { Span } from '@opentelemetry/api';
import type { PgRequestHookInformation } from '@opentelemetry/instrumentation-pg';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
} from '@opentelemetry/semantic-conventions';

export interface Statement {
  text: string;
  /** db.operation.name: the SQL keyword */
  operation: string;
  /** db.collection.name: schema-qualified, as written in the text */
  collection?: string;
}

export const INSERT_VIEW: Statement = {
  text: 'INSERT INTO analytics.page_view (id, path, client_ip, ts) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
  operation: 'INSERT',
  collection: 'analytics.page_view',
};

export const COUNT_BY_PATH: Statement = {
  text: 'SELECT path, count(*) AS n FROM analytics.page_view GROUP BY path ORDER BY path',
  operation: 'SELECT',
  collection: 'analytics.page_view',
};

/** The readiness probe: no table, so the convention's target is the namespace. */
export const PING: Statement = { text: 'SELECT 1', operation: 'SELECT' };

const BY_TEXT = new Map([INSERT_VIEW, COUNT_BY_PATH, PING].map((s) => [s.text, s]));

/**
 * requestHook for PgInstrumentation. Statements not declared above (none today) keep what the
 * instrumentation gave them rather than a guess parsed from SQL.
 */
export function nameQuerySpan(span: Span, info: PgRequestHookInformation): void {
  const statement = BY_TEXT.get(info.query.text);
  if (!statement) return;
  const target = statement.collection ?? info.connection.database;
  const summary = target ? `${statement.operation} ${target}` : statement.operation;
  span.setAttribute(ATTR_DB_OPERATION_NAME, statement.operation);
  if (statement.collection) span.setAttribute(ATTR_DB_COLLECTION_NAME, statement.collection);
  span.setAttribute(ATTR_DB_QUERY_SUMMARY, summary);
  span.updateName(summary);
}
