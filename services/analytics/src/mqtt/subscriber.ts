// MQTT transport: one MQTT 5 client with a persistent session, QoS 1, and acknowledgements
// sent only once the handler says so.
//
// Delivery rules:
// - clean start off + a fixed client id + session expiry: the broker keeps the subscription and
//   queues QoS 1 messages while we are away, and delivers them when we come back.
// - `customHandleAcks` holds the PUBACK until the handler has finished. MQTT.js processes the
//   packets of a connection one after another, so at most one message is in flight.
// - Stored / duplicate → PUBACK 0x00. Poison (bad payload, row refused) → PUBACK with an error
//   reason code: acknowledged, so it does not come back.
// - Store unavailable (database down, or the analyticsFailure flag on) → no PUBACK. MQTT 5
//   brokers resend unacknowledged messages only on a new connection, so the subscriber
//   disconnects (session kept), waits until `storeReady` resolves (backoff 1 s → 30 s, cut short
//   by `wake()` when a flag changes) and reconnects; the broker redelivers and the insert, being
//   idempotent on id, stores each view once.
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log';
import type { IncomingMessage, Outcome } from '../pageview/handler';
import type { UserProperties } from './context';

export interface SubscriberOptions {
  host: string;
  port: number;
  topic: string;
  clientId: string;
  sessionExpirySeconds: number;
}

export interface SubscriberDeps {
  handle: (msg: IncomingMessage) => Promise<Outcome>;
  /** Resolves when views can be stored again (flag off, database up); checked before reconnecting. */
  storeReady: () => Promise<void>;
  logger: Logger;
}

/** Passed to MQTT.js to withhold a PUBACK; MQTT.js re-emits it as an 'error' event. */
class NotAcknowledged extends Error {
  constructor(reason: string) {
    super(`message not acknowledged: ${reason}`);
    this.name = 'NotAcknowledged';
  }
}

type AckCallback = (error: Error | number, code?: number) => void;

const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export class Subscriber {
  private client: MqttClient | undefined;
  private subscribed = false;
  /** the error.type that paused us, between a store failure and the reconnect that follows it */
  private pausedBy: string | undefined;
  /** ends the current wait between two `storeReady` checks early */
  private wakeUp: AbortController | undefined;
  private stopping = false;
  private inFlight: Promise<void> = Promise.resolve();
  private recovery: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();

  constructor(
    private readonly opts: SubscriberOptions,
    private readonly deps: SubscriberDeps,
  ) {}

  start(): void {
    const { host, port, clientId, sessionExpirySeconds } = this.opts;
    const log = this.deps.logger;
    const options: IClientOptions = {
      host,
      port,
      protocol: 'mqtt',
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: sessionExpirySeconds },
      keepalive: 30,
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
      // We subscribe on every CONNACK ourselves (see below).
      resubscribe: false,
      customHandleAcks: (topic, message, packet, done) => this.onPublish(topic, message, packet, done),
    };
    const client = mqtt.connect(options);
    this.client = client;

    client.on('connect', (connack) => {
      log.info({ host, port, client_id: clientId, session_present: connack.sessionPresent }, 'mqtt.connected');
      this.subscribe(client);
    });
    client.on('reconnect', () => log.info({ host, port }, 'mqtt.reconnecting'));
    client.on('close', () => {
      if (this.subscribed) log.warn({ host, port }, 'mqtt.disconnected');
      this.subscribed = false;
    });
    client.on('error', (err) => {
      if (err instanceof NotAcknowledged) return; // already logged by the handler
      log.error({ error_type: (err as { code?: unknown }).code ?? err.name, reason: err.message }, 'mqtt.error');
    });
  }

  /** Connected, subscribed, and not waiting for the database. */
  status(): { ready: boolean; reason?: string } {
    if (this.pausedBy) return { ready: false, reason: `cannot store page views (${this.pausedBy}); messages held by the broker` };
    if (!this.client?.connected) return { ready: false, reason: 'mqtt not connected' };
    if (!this.subscribed) return { ready: false, reason: 'mqtt not subscribed' };
    return { ready: true };
  }

  private subscribe(client: MqttClient): void {
    const { topic } = this.opts;
    const log = this.deps.logger;
    client.subscribe(topic, { qos: 1 }, (err, granted) => {
      const qos = granted?.[0]?.qos;
      if (err || qos === undefined || qos >= 0x80) {
        log.error({ topic, reason: err?.message ?? `SUBACK reason code ${qos}` }, 'mqtt.subscribe_failed');
        return;
      }
      if (qos !== 1) log.warn({ topic, granted_qos: qos }, 'mqtt.subscribe_downgraded');
      this.subscribed = true;
      log.info({ topic, qos }, 'mqtt.subscribed');
    });
  }

  private onPublish(topic: string, payload: Buffer, packet: mqtt.IPublishPacket, done: AckCallback): void {
    if (this.stopping || this.pausedBy) {
      // Left with the broker: delivered again on the next connection.
      done(new NotAcknowledged(this.stopping ? 'shutting down' : `paused (${this.pausedBy})`));
      return;
    }
    const userProperties = packet.properties?.userProperties as UserProperties | undefined;
    this.inFlight = this.deps.handle({ topic, payload, userProperties }).then(
      (outcome) => {
        if (outcome.ack) {
          done(outcome.reasonCode);
        } else {
          done(new NotAcknowledged(outcome.errorType));
          this.pauseUntilStoreReady(outcome.errorType);
        }
      },
      (err: unknown) => {
        // The handler reports failures as outcomes; reaching this is a bug. Do not lose the view.
        this.deps.logger.error({ reason: String(err) }, 'mqtt.handler_crashed');
        done(new NotAcknowledged('handler error'));
        this.pauseUntilStoreReady('handler_error');
      },
    );
  }

  /**
   * Ends the current wait of a pause early: what held the messages back may have changed (the
   * flags file did). No effect when not paused.
   */
  wake(): void {
    this.wakeUp?.abort();
  }

  private pauseUntilStoreReady(errorType: string): void {
    if (this.pausedBy || this.stopping) return;
    this.pausedBy = errorType;
    const log = this.deps.logger;
    log.warn({ error_type: errorType }, 'mqtt.paused');
    this.recovery = (async () => {
      const client = this.client!;
      // A normal DISCONNECT: the session (and the unacknowledged message) stays with the broker.
      await client.endAsync(false).catch(() => undefined);
      this.subscribed = false;
      let delay = BACKOFF_START_MS;
      while (!this.stopping) {
        this.wakeUp = new AbortController();
        await sleep(delay, undefined, { signal: AbortSignal.any([this.abort.signal, this.wakeUp.signal]) }).catch(() => undefined);
        if (this.stopping) return;
        try {
          await this.deps.storeReady();
          break;
        } catch (err) {
          log.warn({ retry_in_ms: Math.min(delay * 2, BACKOFF_MAX_MS), reason: (err as Error).message }, 'store.still_unavailable');
          delay = Math.min(delay * 2, BACKOFF_MAX_MS);
        }
      }
      this.wakeUp = undefined;
      if (this.stopping) return;
      this.pausedBy = undefined;
      log.info({}, 'mqtt.resuming');
      client.reconnect();
    })();
  }

  /**
   * Lets the message being handled finish (its PUBACK is written), then sends a normal
   * DISCONNECT. The session is not cleaned: whatever the broker still holds is delivered on
   * the next start.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.inFlight;
    await this.recovery;
    const client = this.client;
    if (!client) return;
    this.subscribed = false;
    const graceful = client.endAsync(false).then(
      () => 'ok' as const,
      () => 'ok' as const, // a broken connection is as closed as it gets
    );
    const timer = sleep(timeoutMs, 'timeout' as const, { ref: false });
    if ((await Promise.race([graceful, timer])) === 'timeout') {
      this.deps.logger.warn({}, 'mqtt.disconnect_timeout');
      await client.endAsync(true);
    }
  }
}
