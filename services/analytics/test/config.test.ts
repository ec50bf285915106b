import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config';
import { isRowRejection } from '../src/db/store';

describe('loadConfig', () => {
  it('has the CONVENTIONS.md defaults', () => {
    const cfg = loadConfig({});
    assert.deepEqual(cfg.http, { host: '127.0.0.1', port: 8083 });
    assert.equal(cfg.mqtt.host, '127.0.0.1');
    assert.equal(cfg.mqtt.port, 11883);
    assert.equal(cfg.mqtt.topic, 'analytics');
    assert.equal(cfg.mqtt.clientId, 'analytics');
    assert.ok(cfg.mqtt.sessionExpirySeconds >= 3600);
    assert.deepEqual(cfg.pg, { host: '127.0.0.1', port: 55432, database: 'polytrace', user: 'analytics', password: undefined });
  });

  it('reads the variables', () => {
    const cfg = loadConfig({ PORT: '9000', MQTT_PORT: '1883', MQTT_CLIENT_ID: 'a2', PGPASSWORD: 's3cret', PGPORT: '5432' });
    assert.equal(cfg.http.port, 9000);
    assert.equal(cfg.mqtt.port, 1883);
    assert.equal(cfg.mqtt.clientId, 'a2');
    assert.equal(cfg.pg.password, 's3cret');
    assert.equal(cfg.pg.port, 5432);
  });

  it('fails fast, naming the variable', () => {
    for (const [name, value] of [['PORT', 'http'], ['MQTT_PORT', '70000'], ['PGPORT', '-1'], ['MQTT_TOPIC', 'a/#'], ['LOG_LEVEL', 'loud']]) {
      assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.startsWith(`${name}:`));
    }
  });
});

describe('loadConfig: flags', () => {
  it('has no provider without the flagd variables', () => {
    assert.equal(loadConfig({}).flags, undefined);
  });

  it('reads a flags file in file and in-process mode', () => {
    const path = '/run/flags.json';
    for (const resolver of ['file', 'in-process', 'FILE', undefined]) {
      const env = { FLAGD_RESOLVER: resolver, FLAGD_OFFLINE_FLAG_SOURCE_PATH: path };
      assert.deepEqual(loadConfig(env).flags, { resolver: 'in-process', sourcePath: path }, String(resolver));
    }
  });

  it('talks to a flagd daemon in rpc mode, or in-process without a file', () => {
    assert.deepEqual(loadConfig({ FLAGD_RESOLVER: 'rpc' }).flags, { resolver: 'rpc' });
    assert.deepEqual(loadConfig({ FLAGD_RESOLVER: 'in-process' }).flags, { resolver: 'in-process' });
  });

  it('fails fast on a file resolver without a file, or an unknown resolver', () => {
    assert.throws(() => loadConfig({ FLAGD_RESOLVER: 'file' }), (e: unknown) => e instanceof ConfigError && e.variable === 'FLAGD_OFFLINE_FLAG_SOURCE_PATH');
    assert.throws(() => loadConfig({ FLAGD_RESOLVER: 'flagd' }), (e: unknown) => e instanceof ConfigError && e.variable === 'FLAGD_RESOLVER');
  });
});

describe('isRowRejection', () => {
  it('treats SQLSTATE classes 22 and 23 as permanent, everything else as transient', () => {
    const pgErr = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(isRowRejection(pgErr('22008')), true);
    assert.equal(isRowRejection(pgErr('22P02')), true);
    assert.equal(isRowRejection(pgErr('23502')), true);
    assert.equal(isRowRejection(pgErr('08006')), false);
    assert.equal(isRowRejection(pgErr('57P01')), false);
    assert.equal(isRowRejection(pgErr('42501')), false);
    assert.equal(isRowRejection(pgErr('ECONNREFUSED')), false);
    assert.equal(isRowRejection(new Error('timeout')), false);
  });
});
