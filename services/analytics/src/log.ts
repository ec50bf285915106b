// The one logger: JSON lines on stdout, each stamped with the active span's trace_id/span_id
// so a log line can be found from a trace and back. Messages are stable event names
// ("page_view.stored"); values go in fields.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';

export type Logger = pino.Logger;

/** `destination`: stdout unless given (tests read the lines back). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'analytics' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const sc = span.spanContext();
      if (!isSpanContextValid(sc)) return {};
      return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}` };
    },
  }, destination);
}
