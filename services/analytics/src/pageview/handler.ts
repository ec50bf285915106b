// Processing one page-view message: continue the producer's trace with a CONSUMER span,
// validate the payload, store the view inside that span, and decide whether the message may
// be acknowledged. Transport-agnostic: the MQTT wiring lives in mqtt/subscriber.ts.
import { type Span, SpanKind, SpanStatusCode, type Tracer, context, trace } from '@opentelemetry/api';
import { ATTR_CLIENT_ADDRESS, ATTR_ERROR_TYPE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { PageViewStore } from '../db/store';
import { RowRejectedError } from '../db/store';
import { ANALYTICS_FAILURE, type FailureFlags, FailureFlagError } from '../flags';
import type { Logger } from '../log';
import { extractTraceContext, type UserProperties } from '../mqtt/context';
import { InvalidPayloadError, type PageView, parsePageView, peekId } from './payload';

// Messaging attributes are still "development" semantic conventions: the names are copied here
// instead of importing the unstable `@opentelemetry/semantic-conventions/incubating` entry point.
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
/** Our own: what became of the message — stored, duplicate, rejected or failed. */
export const ATTR_APP_OUTCOME = 'app.page_view.outcome';

/** MQTT 5 PUBACK reason codes used when a message is acknowledged without being stored. */
export const REASON_SUCCESS = 0x00;
export const REASON_UNSPECIFIED_ERROR = 0x80;
export const REASON_PAYLOAD_FORMAT_INVALID = 0x99;

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  userProperties?: UserProperties;
}

export type Outcome =
  /** stored now, or already stored by an earlier delivery of the same id: acknowledge */
  | { kind: 'stored' | 'duplicate'; ack: true; reasonCode: number }
  /** can never be stored (bad payload, row refused by the database): acknowledge so it does not loop */
  | { kind: 'rejected'; ack: true; reasonCode: number; errorType: string }
  /** the database is unavailable, or analyticsFailure is on: do not acknowledge; the broker delivers it again */
  | { kind: 'failed'; ack: false; errorType: string };

export class InvalidTraceContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTraceContextError';
  }
}

export interface HandlerDeps {
  tracer: Tracer;
  store: PageViewStore;
  flags: FailureFlags;
  logger: Logger;
}

/** error.type of a view held back by a failure flag. */
export const ERROR_TYPE_FAILURE_FLAG = 'failure_flag';

export type MessageHandler = (msg: IncomingMessage) => Promise<Outcome>;

function markError(span: Span, errorType: string, err: Error): void {
  span.recordException(err);
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/** A low-cardinality name for an unexpected failure: SQLSTATE / errno code, else the class. */
function errorTypeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return err instanceof Error ? err.name : 'unknown';
}

/**
 * Resolves when a view could be stored now (the failure flag off, the database answering);
 * the subscriber checks it before reconnecting after a held message.
 */
export function storeReadiness({ store, flags }: Pick<HandlerDeps, 'store' | 'flags'>): () => Promise<void> {
  return async () => {
    if (await flags.analyticsFailure()) throw new FailureFlagError(ANALYTICS_FAILURE);
    await store.ping();
  };
}

export function createMessageHandler({ tracer, store, flags, logger }: HandlerDeps): MessageHandler {
  return async function handle(msg: IncomingMessage): Promise<Outcome> {
    const extracted = extractTraceContext(msg.userProperties);
    const span = tracer.startSpan(
      `process ${msg.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [ATTR_MESSAGING_SYSTEM]: 'mqtt',
          [ATTR_MESSAGING_DESTINATION_NAME]: msg.topic,
          [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
          [ATTR_MESSAGING_OPERATION_NAME]: 'process',
          [ATTR_MESSAGING_MESSAGE_BODY_SIZE]: msg.payload.length,
        },
      },
      extracted.parent,
    );
    return context.with(trace.setSpan(extracted.parent, span), async (): Promise<Outcome> => {
      try {
        if (extracted.status === 'invalid') {
          // Still worth storing the view; the span starts a new trace and says why.
          markError(span, 'invalid_trace_context', new InvalidTraceContextError('unusable traceparent in MQTT user properties'));
          logger.warn({ topic: msg.topic }, 'trace_context.invalid');
        }

        let view: PageView;
        try {
          view = parsePageView(msg.payload);
        } catch (err) {
          if (!(err instanceof InvalidPayloadError)) throw err;
          const id = peekId(msg.payload);
          if (id !== undefined) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, id);
          markError(span, err.type, err);
          span.setAttribute(ATTR_APP_OUTCOME, 'rejected');
          logger.warn({ topic: msg.topic, bytes: msg.payload.length, error_type: err.type, reason: err.message }, 'page_view.rejected');
          return { kind: 'rejected', ack: true, reasonCode: REASON_PAYLOAD_FORMAT_INVALID, errorType: err.type };
        }

        span.setAttributes({
          [ATTR_MESSAGING_MESSAGE_ID]: view.id,
          [ATTR_URL_PATH]: view.path,
          [ATTR_CLIENT_ADDRESS]: view.clientIp,
        });

        // Evaluated inside the consumer span, so the OpenFeature hook records it there.
        if (await flags.analyticsFailure()) {
          markError(span, ERROR_TYPE_FAILURE_FLAG, new FailureFlagError(ANALYTICS_FAILURE));
          span.setAttribute(ATTR_APP_OUTCOME, 'failed');
          logger.warn({ id: view.id, flag: ANALYTICS_FAILURE }, 'page_view.held_by_flag');
          return { kind: 'failed', ack: false, errorType: ERROR_TYPE_FAILURE_FLAG };
        }

        const result = await store.insert(view);
        span.setAttribute(ATTR_APP_OUTCOME, result);
        logger.info({ id: view.id, path: view.path }, result === 'stored' ? 'page_view.stored' : 'page_view.duplicate');
        return { kind: result, ack: true, reasonCode: REASON_SUCCESS };
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (error instanceof RowRejectedError) {
          markError(span, 'db_row_rejected', error);
          span.setAttribute(ATTR_APP_OUTCOME, 'rejected');
          logger.warn({ sqlstate: error.sqlState, reason: error.message }, 'page_view.rejected');
          return { kind: 'rejected', ack: true, reasonCode: REASON_UNSPECIFIED_ERROR, errorType: 'db_row_rejected' };
        }
        const errorType = errorTypeOf(error);
        markError(span, errorType, error);
        span.setAttribute(ATTR_APP_OUTCOME, 'failed');
        logger.error({ error_type: errorType, reason: error.message }, 'page_view.store_failed');
        return { kind: 'failed', ack: false, errorType };
      } finally {
        span.end();
      }
    });
  };
}
