// analytics: MQTT page-view events → analytics.page_view, plus GET /views and GET /health.
// Run as `node --require ./dist/telemetry.js dist/main.js`: the SDK is started by then, and
// importing telemetry here only reuses that module (and starts it if --require was forgotten).
import { shutdownTelemetry } from './telemetry';
import { trace } from '@opentelemetry/api';
import { ConfigError, loadConfig } from './config';
import { PgPageViewStore } from './db/store';
import { openFeatureFlags, startFlags, stopFlags } from './flags';
import { createHttpServer } from './http/server';
import { createLogger } from './log';
import { Subscriber } from './mqtt/subscriber';
import { createMessageHandler, storeReadiness } from './pageview/handler';

/** A setting the service cannot start with: one line on stderr, exit 2. */
async function exitMisconfigured(message: string): Promise<never> {
  process.stderr.write(`analytics: ${message}\n`);
  await shutdownTelemetry();
  process.exit(2);
}

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return exitMisconfigured(`invalid configuration: ${err.message}`);
  }
  const logger = createLogger(cfg.logLevel);

  const store = new PgPageViewStore(cfg.pg, (err) => logger.warn({ reason: err.message }, 'db.idle_client_error'));
  const flags = openFeatureFlags();
  const handle = createMessageHandler({ tracer: trace.getTracer('analytics'), store, flags, logger });
  const subscriber = new Subscriber(cfg.mqtt, { handle, storeReady: storeReadiness({ store, flags }), logger });
  // A changed flags file may end a pause at once instead of at the next backoff step.
  await startFlags(cfg.flags, () => subscriber.wake(), logger).catch((err: Error) =>
    exitMisconfigured(`cannot read the failure flags: ${err.message}`),
  );
  const server = createHttpServer({
    store,
    subscriberStatus: () => subscriber.status(),
    logger,
    debugEndpoints: cfg.debugEndpoints,
  });

  server.on('error', (err) => {
    logger.fatal({ host: cfg.http.host, port: cfg.http.port, reason: err.message }, 'http.listen_failed');
    process.exit(1);
  });
  server.listen(cfg.http.port, cfg.http.host, () => {
    logger.info({ host: cfg.http.host, port: cfg.http.port }, 'http.listening');
  });
  subscriber.start();

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutdown.started');
    // Never hang on shutdown: a supervisor waiting for us is worse than a lost flush.
    setTimeout(() => {
      logger.error({}, 'shutdown.timeout');
      process.exit(1);
    }, 15_000).unref();
    const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await subscriber.stop(); // drains the message in flight, then DISCONNECT (session kept)
    await httpClosed;
    await store.close();
    await stopFlags();
    await shutdownTelemetry(); // flush spans
    logger.info({}, 'shutdown.complete');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      stop(signal).catch((err: unknown) => {
        logger.error({ reason: String(err) }, 'shutdown.failed');
        process.exit(1);
      });
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`analytics: fatal: ${String(err)}\n`);
  process.exit(1);
});
