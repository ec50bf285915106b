// The span-cost benchmark's Node side (polytrace/bench/spancost/), run as analytics runs:
// `node --require ./dist/telemetry.js build-bench/bench/span-cost.js`, so analytics' own
// telemetry module sets up the SDK and this file only asks the API for a tracer.
//
// Each line on stdin is a number of spans to make; "ok" on stdout once they have ended. The
// harness measures this process's CPU and counts the spans its receiver gets. The span is the one
// every language makes (polytrace/bench/spancost/programs.py, SPAN): a database CLIENT span with
// seven attributes, a root span each time. Spans still queued when stdin ends are not the
// harness's concern: it has counted every measured span by then.
import { SpanKind, trace } from '@opentelemetry/api';
import { createInterface } from 'node:readline';

const NAME = 'SELECT stock.stock';
const ATTRIBUTES = {
  'db.system.name': 'postgresql',
  'db.namespace': 'polytrace',
  'db.operation.name': 'SELECT',
  'db.collection.name': 'stock.stock',
  'db.query.text': 'SELECT product_id, quantity FROM stock.stock WHERE product_id = $1',
  'server.address': '127.0.0.1',
  'server.port': 55432,
};

const tracer = trace.getTracer('span-cost');

createInterface({ input: process.stdin }).on('line', (line) => {
  const count = Number.parseInt(line, 10);
  for (let i = 0; i < count; i++) {
    tracer.startSpan(NAME, { kind: SpanKind.CLIENT, attributes: ATTRIBUTES }).end();
  }
  process.stdout.write('ok\n');
});
