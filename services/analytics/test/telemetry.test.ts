import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

// telemetry.ts patches modules as a side effect of loading, so each case is its own process,
// started the way the registry starts the service (`node --require telemetry.js`).
const TELEMETRY = path.join(__dirname, '..', 'src', 'telemetry.js');
const PROBE = `
  const pg = require('pg');
  const http = require('http');
  console.log(JSON.stringify({ pg: pg.Client.prototype.query.__wrapped === true, http: http.request.__wrapped === true }));
  process.exit(0);
`;

function patched(extra: Record<string, string>): { pg: boolean; http: boolean } {
  const env: NodeJS.ProcessEnv = { ...process.env, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
  delete env.OTEL_SDK_DISABLED;
  Object.assign(env, extra);
  const out = execFileSync(process.execPath, ['--require', TELEMETRY, '-e', PROBE], {
    cwd: path.join(__dirname, '..', '..'),
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '');
}

describe('telemetry setup', () => {
  it('patches pg and http when the SDK is on', () => {
    assert.deepEqual(patched({}), { pg: true, http: true });
  });

  it('patches nothing with OTEL_SDK_DISABLED=true (the untraced baseline)', () => {
    assert.deepEqual(patched({ OTEL_SDK_DISABLED: 'true' }), { pg: false, http: false });
  });
});
