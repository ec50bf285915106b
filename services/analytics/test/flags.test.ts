// The failure flag end to end inside the process: the real flagd provider in file mode reading
// a copy of infra/flags/flags.json, the OpenFeature OTel hook, and the message handler.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import type { PageViewStore, InsertResult, ViewCounts } from '../src/db/store';
import { ANALYTICS_FAILURE, openFeatureFlags, startFlags, stopFlags } from '../src/flags';
import { createLogger } from '../src/log';
import { ERROR_TYPE_FAILURE_FLAG, createMessageHandler } from '../src/pageview/handler';
import type { PageView } from '../src/pageview/payload';
import { setupTracing } from './setup';

const { exporter, provider } = setupTracing();

const DEFAULTS = resolve(__dirname, '../../../../infra/flags/flags.json');
const dir = mkdtempSync(join(tmpdir(), 'analytics-flags-'));
const path = join(dir, 'flags.json');

/** What `polytrace flags set` does: a temp file in the same folder, renamed over the live one. */
function setFlag(name: string, variant: 'on' | 'off'): void {
  const doc = JSON.parse(readFileSync(DEFAULTS, 'utf8'));
  doc.flags[name].defaultVariant = variant;
  writeFileSync(`${path}.tmp`, JSON.stringify(doc));
  renameSync(`${path}.tmp`, path);
}

class MemoryStore implements PageViewStore {
  readonly rows = new Map<string, PageView>();
  async insert(view: PageView): Promise<InsertResult> {
    if (this.rows.has(view.id)) return 'duplicate';
    this.rows.set(view.id, view);
    return 'stored';
  }
  async counts(): Promise<ViewCounts> {
    return { total: this.rows.size, byPath: {} };
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

let changes = 0;
let changed: (() => void) | undefined;
/** Resolves on the provider's next configuration-changed event; rejects after `ms`. */
function nextChange(ms: number): Promise<number> {
  const started = Date.now();
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no flag change seen within ${ms} ms`)), ms);
    changed = () => {
      clearTimeout(timer);
      ok(Date.now() - started);
    };
  });
}

const store = new MemoryStore();
const flags = openFeatureFlags();
const handle = createMessageHandler({ tracer: provider.getTracer('test'), store, flags, logger: createLogger('silent') });
const ID = '11111111-2222-4333-8444-555555555599';
const message = {
  topic: 'analytics',
  payload: Buffer.from(JSON.stringify({ id: ID, path: '/products/1', clientIp: '127.0.0.1', ts: '2026-12-01T10:00:00Z' })),
  userProperties: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
};

before(async () => {
  setFlag(ANALYTICS_FAILURE, 'off');
  await startFlags({ resolver: 'in-process', sourcePath: path }, () => {
    changes += 1;
    changed?.();
  });
});

after(async () => {
  await stopFlags();
  rmSync(dir, { recursive: true, force: true });
});

describe('analyticsFailure through flagd file mode', () => {
  it('reads the committed default: off', async () => {
    assert.equal(await flags.analyticsFailure(), false);
  });

  it('applies a rename-replaced file within 2 s, without a restart', async () => {
    const seen = nextChange(2_000);
    setFlag(ANALYTICS_FAILURE, 'on');
    const ms = await seen;
    assert.equal(await flags.analyticsFailure(), true, `flag on after ${ms} ms`);
    assert.ok(changes >= 1);
  });

  it('while on: the view is not stored and not acknowledged; the consumer span says which flag', async () => {
    exporter.reset();
    const outcome = await handle(message);
    assert.deepEqual(outcome, { kind: 'failed', ack: false, errorType: ERROR_TYPE_FAILURE_FLAG });
    assert.equal(store.rows.size, 0);

    const [span] = exporter.getFinishedSpans();
    assert.equal(span.name, 'process analytics');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], ERROR_TYPE_FAILURE_FLAG);
    assert.equal(span.attributes['app.page_view.outcome'], 'failed');
    const exception = span.events.find((e) => e.name === 'exception');
    assert.match(String(exception?.attributes?.['exception.message']), /analyticsFailure is on/);
    // The OpenFeature OTel hook's evaluation event, in the feature-flag semantic conventions.
    const evaluation = span.events.find((e) => e.name === 'feature_flag.evaluation');
    assert.equal(evaluation?.attributes?.['feature_flag.key'], ANALYTICS_FAILURE);
    assert.equal(evaluation?.attributes?.['feature_flag.result.variant'], 'on');
  });

  it('once off: the same message is stored, once', async () => {
    const seen = nextChange(2_000);
    setFlag(ANALYTICS_FAILURE, 'off');
    await seen;
    exporter.reset();
    assert.equal((await handle(message)).kind, 'stored');
    assert.equal((await handle(message)).kind, 'duplicate');
    assert.equal(store.rows.size, 1);
    const [span] = exporter.getFinishedSpans();
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    const evaluation = span.events.find((e) => e.name === 'feature_flag.evaluation');
    assert.equal(evaluation?.attributes?.['feature_flag.result.variant'], 'off');
  });

  it('keeps the last good flags when the file is broken', async () => {
    const seen = nextChange(2_000);
    setFlag(ANALYTICS_FAILURE, 'on');
    await seen;
    writeFileSync(`${path}.tmp`, '{"flags": ');
    renameSync(`${path}.tmp`, path);
    await new Promise((r) => setTimeout(r, 1_200)); // more than two polls
    assert.equal(await flags.analyticsFailure(), true);
  });
});
