// Trace context carried in MQTT 5 user properties (traceparent, tracestate, baggage), read
// through the globally configured propagator — never parsed by hand.
import {
  type Context,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapGetter,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';

/** MQTT.js decodes a property that occurs once as a string and a repeated one as string[]. */
export type UserProperties = Record<string, string | string[] | undefined>;

function pick(carrier: UserProperties, key: string): string | string[] | undefined {
  if (Object.prototype.hasOwnProperty.call(carrier, key)) return carrier[key];
  // Property names are case-sensitive in MQTT; accept "Traceparent" like HTTP would.
  const lower = key.toLowerCase();
  const found = Object.keys(carrier).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : carrier[found];
}

export const userPropertiesGetter: TextMapGetter<UserProperties | undefined> = {
  keys(carrier) {
    return carrier ? Object.keys(carrier) : [];
  },
  get(carrier, key) {
    if (!carrier) return undefined;
    const value = pick(carrier, key);
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) {
      const strings = value.filter((v): v is string => typeof v === 'string');
      return strings.length > 0 ? strings : undefined;
    }
    return undefined;
  },
};

export type TraceContextStatus =
  /** a valid remote span context: the consumer span continues that trace */
  | 'valid'
  /** no traceparent at all: a new trace, not an error (e.g. a hand-published test message) */
  | 'absent'
  /** a traceparent that the propagator could not turn into a valid span context */
  | 'invalid';

export interface ExtractedContext {
  /** the context to start the consumer span in: the extracted one, or ROOT_CONTEXT */
  parent: Context;
  status: TraceContextStatus;
  remote?: SpanContext;
}

export function extractTraceContext(userProperties: UserProperties | undefined): ExtractedContext {
  const extracted = propagation.extract(ROOT_CONTEXT, userProperties, userPropertiesGetter);
  const remote = trace.getSpanContext(extracted);
  if (remote && isSpanContextValid(remote)) return { parent: extracted, status: 'valid', remote };
  const hasTraceparent = userPropertiesGetter.get(userProperties, 'traceparent') !== undefined;
  // An unusable context starts a fresh trace; baggage from such a message is not trusted either.
  return { parent: ROOT_CONTEXT, status: hasTraceparent ? 'invalid' : 'absent' };
}
