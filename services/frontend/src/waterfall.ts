// "Your click's trace": the trace id, the viewer link, and a waterfall from the viewer's API.
import { ROOT_CONTEXT, context } from '@opentelemetry/api';

import { Config, ZipkinSpan, viewerTrace } from './api';
import { h, replace } from './dom';

/** The six runtimes one click crosses: browser JS, Go, Kotlin, Python, Rust, Node. */
export const SERVICES = ['frontend', 'gateway', 'catalog', 'pricing', 'stock', 'analytics'];
const POLL_MS = 500;
const GIVE_UP_MS = 30_000;

let current = 0; // a newer click's trace replaces an older one's polling

export function showTrace(target: HTMLElement, config: Config, traceId: string | null): void {
  const generation = ++current;
  if (!traceId) {
    replace(target, h('h2', {}, "Your click's trace"), h('p', { class: 'error' }, 'The answer had no traceresponse header.'));
    return;
  }
  const link = config.traceUrl
    ? h('a', { href: config.traceUrl + traceId, target: '_blank', rel: 'noopener', id: 'trace-link' }, 'open it in the viewer')
    : h('span', { class: 'muted' }, '(no bundled viewer: the spans went to your own OTLP endpoint)');
  const progress = h('p', { class: 'muted', id: 'trace-progress' });
  const chart = h('div', { class: 'waterfall', id: 'waterfall' });
  replace(
    target,
    h('h2', {}, "Your click's trace"),
    h('p', {}, 'trace id ', h('code', { id: 'trace-id' }, traceId), ' — ', link),
    config.traceApi ? [progress, chart] : null,
  );
  if (!config.traceApi) return;
  const api = config.traceApi;
  const started = Date.now();
  let previous = -1;
  // Outside the click's context: polling timers started inside it would keep the click span
  // open (user-interaction waits for the tasks its zone schedules).
  context.with(ROOT_CONTEXT, () => {
    const poll = async (): Promise<void> => {
      if (generation !== current) return;
      let spans: ZipkinSpan[] = [];
      let failure = '';
      try {
        spans = await viewerTrace(api, traceId);
      } catch (error) {
        failure = String(error);
      }
      if (spans.length) draw(chart, spans);
      const services = new Set(spans.map(serviceOf));
      const lacking = [
        ...SERVICES.filter((s) => !services.has(s)),
        ...(orphans(spans) ? [`the parents of ${orphans(spans)} spans`] : []),
      ];
      // Each service exports on its own schedule: done when all six are in, every parent is
      // too (no span still on its way between two that arrived), and a poll brought nothing new.
      const stable = spans.length === previous;
      previous = spans.length;
      if (!failure && !lacking.length && stable) {
        progress.textContent = `${spans.length} spans from ${services.size} services`;
        progress.className = 'done';
        return;
      }
      const status = failure || `${spans.length} spans` + (lacking.length ? `; waiting for ${lacking.join(', ')}` : '');
      if (Date.now() - started > GIVE_UP_MS) {
        progress.textContent = `${status} — gave up after ${GIVE_UP_MS / 1000} s`;
        progress.className = 'error';
        return;
      }
      progress.textContent = `${status}…`;
      progress.className = 'muted';
      setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
  });
}

const serviceOf = (span: ZipkinSpan) => span.localEndpoint?.serviceName ?? '?';

function orphans(spans: ZipkinSpan[]): number {
  const ids = new Set(spans.map((s) => s.id));
  return spans.filter((s) => s.parentId && !ids.has(s.parentId)).length;
}

/** Rows in tree order (parents before children, siblings by start), bars on one time axis. */
function draw(chart: HTMLElement, spans: ZipkinSpan[]): void {
  const ids = new Set(spans.map((s) => s.id));
  const children = new Map<string | undefined, ZipkinSpan[]>();
  for (const span of spans) {
    const parent = span.parentId && ids.has(span.parentId) ? span.parentId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const start = Math.min(...spans.map((s) => s.timestamp ?? Infinity));
  const end = Math.max(...spans.map((s) => (s.timestamp ?? start) + (s.duration ?? 0)));
  const total = Math.max(end - start, 1);
  const rows: HTMLElement[] = [];
  const visit = (parent: string | undefined, depth: number): void => {
    const level = [...(children.get(parent) ?? [])].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
    for (const span of level) {
      const left = (((span.timestamp ?? start) - start) / total) * 100;
      const width = Math.max(((span.duration ?? 0) / total) * 100, 0.3);
      const service = serviceOf(span);
      rows.push(
        h(
          'div',
          { class: 'span-row', 'data-service': service },
          h('span', { class: 'label', style: `padding-left:${depth * 0.8}em` },
            h('b', { class: `service svc-${service}` }, service), ' ', span.name ?? ''),
          h('span', { class: 'track' },
            h('span', { class: `bar svc-${service}`, style: `left:${left}%;width:${width}%` })),
          h('span', { class: 'duration' }, `${((span.duration ?? 0) / 1000).toFixed(1)} ms`),
        ),
      );
      visit(span.id, depth + 1);
    }
  };
  visit(undefined, 0);
  replace(chart, rows);
}
