// Configuration: the environment is read once, here, at startup. Everything else receives
// plain values. A malformed value stops the process with a message naming the variable.
// (OTEL_* variables are read by the SDK itself in telemetry.ts.)

export interface Config {
  http: { host: string; port: number };
  mqtt: {
    host: string;
    port: number;
    topic: string;
    clientId: string;
    /** seconds the broker keeps our session (subscription + queued QoS 1 messages) while we are away */
    sessionExpirySeconds: number;
  };
  pg: { host: string; port: number; database: string; user: string; password: string | undefined };
  logLevel: string;
  /** where the failure flags come from; undefined: no provider, every flag takes its default */
  flags: FlagsConfig | undefined;
  /** POLYTRACE_DEBUG_ENDPOINTS=1 enables POST /debug/tracecontext */
  debugEndpoints: boolean;
}

/**
 * The flagd provider's own variables. `file` (the flagd provider spec's name for offline mode)
 * and `in-process` with FLAGD_OFFLINE_FLAG_SOURCE_PATH read a flags file; `in-process` without
 * it and `rpc` talk to a flagd daemon (FLAGD_HOST, FLAGD_PORT, … read by the provider itself).
 */
export type FlagsConfig = { resolver: 'in-process'; sourcePath: string } | { resolver: 'in-process' | 'rpc'; sourcePath?: undefined };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw.trim() !== raw) throw new ConfigError(name, 'must not have leading or trailing spaces');
  return raw;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
    throw new ConfigError(name, `must be a TCP port number 1-65535, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function flags(env: Env): FlagsConfig | undefined {
  const resolver = str(env, 'FLAGD_RESOLVER', '').toLowerCase();
  const sourcePath = str(env, 'FLAGD_OFFLINE_FLAG_SOURCE_PATH', '') || undefined;
  switch (resolver) {
    case '':
      return sourcePath ? { resolver: 'in-process', sourcePath } : undefined;
    case 'file':
      if (!sourcePath) throw new ConfigError('FLAGD_OFFLINE_FLAG_SOURCE_PATH', 'must name the flags file when FLAGD_RESOLVER=file');
      return { resolver: 'in-process', sourcePath };
    case 'in-process':
      return sourcePath ? { resolver: 'in-process', sourcePath } : { resolver: 'in-process' };
    case 'rpc':
      return { resolver: 'rpc' };
    default:
      throw new ConfigError('FLAGD_RESOLVER', `must be file, in-process or rpc, got ${JSON.stringify(env.FLAGD_RESOLVER)}`);
  }
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = str(env, 'LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const topic = str(env, 'MQTT_TOPIC', 'analytics');
  if (/[#+]/.test(topic)) throw new ConfigError('MQTT_TOPIC', 'must be a topic name, not a filter (no + or #)');
  return {
    http: { host: str(env, 'HOST', '127.0.0.1'), port: port(env, 'PORT', 8083) },
    mqtt: {
      host: str(env, 'MQTT_HOST', '127.0.0.1'),
      port: port(env, 'MQTT_PORT', 11883),
      topic,
      clientId: str(env, 'MQTT_CLIENT_ID', 'analytics'),
      // the MQTT contract (docs/ARCHITECTURE.md) asks for >= 1 h; a day survives an evening with the service stopped.
      sessionExpirySeconds: 86_400,
    },
    pg: {
      host: str(env, 'PGHOST', '127.0.0.1'),
      port: port(env, 'PGPORT', 55432),
      database: str(env, 'PGDATABASE', 'polytrace'),
      user: str(env, 'PGUSER', 'analytics'),
      password: env.PGPASSWORD === '' ? undefined : env.PGPASSWORD,
    },
    logLevel,
    flags: flags(env),
    debugEndpoints: env.POLYTRACE_DEBUG_ENDPOINTS === '1',
  };
}
