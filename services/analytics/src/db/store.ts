// Persistence: one pg pool for the process. The SQL is in statements.ts; tables are named with
// their schema so the traced db.query.text says where a statement goes.
import pg from 'pg';
import type { Config } from '../config';
import type { PageView } from '../pageview/payload';
import { COUNT_BY_PATH, INSERT_VIEW, PING } from './statements';

export type InsertResult = 'stored' | 'duplicate';

export interface ViewCounts {
  total: number;
  byPath: Record<string, number>;
}

/** What the message handler and the HTTP server need; tests use an in-memory fake. */
export interface PageViewStore {
  /** Stores a view once per id: a second insert of the same id is a 'duplicate', not an error. */
  insert(view: PageView): Promise<InsertResult>;
  counts(): Promise<ViewCounts>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The database refused this particular row (SQLSTATE class 22 data exception or 23 integrity
 * violation): retrying the same message can never succeed, so it is acknowledged, not redelivered.
 * Every other failure (connection refused, timeout, privileges, missing table) is treated as
 * transient: the message stays unacknowledged and comes back.
 */
export class RowRejectedError extends Error {
  constructor(
    readonly sqlState: string,
    cause: Error,
  ) {
    super(`database rejected the row (SQLSTATE ${sqlState}): ${cause.message}`, { cause });
    this.name = 'RowRejectedError';
  }
}

export function isRowRejection(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}

export class PgPageViewStore implements PageViewStore {
  private readonly pool: pg.Pool;

  constructor(cfg: Config['pg'], onIdleError: (err: Error) => void) {
    this.pool = new pg.Pool({
      host: cfg.host,
      port: cfg.port,
      database: cfg.database,
      user: cfg.user,
      password: cfg.password,
      application_name: 'analytics',
      max: 4,
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      // A stuck statement must not hold a message (and the MQTT keep-alive) for long.
      statement_timeout: 5_000,
      query_timeout: 6_000,
    });
    // An idle client whose server went away emits here; without a listener it would crash us.
    this.pool.on('error', onIdleError);
  }

  async insert(view: PageView): Promise<InsertResult> {
    try {
      const res = await this.pool.query(INSERT_VIEW.text, [view.id, view.path, view.clientIp, view.ts]);
      return res.rowCount === 1 ? 'stored' : 'duplicate';
    } catch (err) {
      if (isRowRejection(err)) throw new RowRejectedError(err.code, err);
      throw err;
    }
  }

  async counts(): Promise<ViewCounts> {
    const res = await this.pool.query<{ path: string; n: string }>(COUNT_BY_PATH.text);
    const byPath: Record<string, number> = {};
    let total = 0;
    for (const row of res.rows) {
      const n = Number(row.n); // count(*) is bigint, which pg returns as text
      byPath[row.path] = n;
      total += n;
    }
    return { total, byPath };
  }

  async ping(): Promise<void> {
    await this.pool.query(PING.text);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
