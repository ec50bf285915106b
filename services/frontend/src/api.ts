// The shop's API (catalog behind the gateway's /api) and the page's runtime config.

export interface Warehouse {
  city: string;
  state: string;
  country: string;
}

export interface StockLevel {
  quantity: number;
  warehouse: Warehouse;
}

export interface Product {
  id: number;
  name: string;
  description: string;
  price: number | null;
  stocks: StockLevel[] | null;
  /** Which parts catalog could not get (docs/ARCHITECTURE.md, "HTTP"): their fields are null. */
  unavailable?: string[];
}

/**
 * The gateway's `/config.json`: URL prefixes to which the trace id is appended. Empty or absent
 * when there is no bundled viewer (the spans went to the user's own OTLP endpoint).
 */
export interface Config {
  /** The viewer's page of one trace, e.g. `http://127.0.0.1:16686/zipkin/traces/`. */
  traceUrl?: string;
  /** Zipkin's v2 API through the gateway, e.g. `/viewer/api/v2/trace/`. */
  traceApi?: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly traceId: string | null,
  ) {
    super(message);
  }
}

export interface Answer<T> {
  body: T;
  /** The trace id of catalog's `traceresponse` header, when it sent one. */
  traceId: string | null;
}

/** `00-<trace-id>-<span-id>-<flags>` (W3C Trace Context Level 2) → the trace id. */
export function traceIdOf(traceresponse: string | null): string | null {
  const match = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceresponse?.trim() ?? '');
  return match ? match[1] : null;
}

async function getJson<T>(path: string): Promise<Answer<T>> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' } });
  } catch (error) {
    throw new ApiError(`${path}: the gateway did not answer (${String(error)})`, 0, null);
  }
  // Same-origin responses expose every header to fetch; no Access-Control-Expose-Headers needed.
  const traceId = traceIdOf(response.headers.get('traceresponse'));
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // A body that is not JSON (e.g. a proxy's HTML page) is reported by the status below.
  }
  if (!response.ok) {
    const message = (body as { error?: string } | null)?.error ?? response.statusText;
    throw new ApiError(`${path}: ${response.status} ${message}`, response.status, traceId);
  }
  if (body === null) {
    throw new ApiError(`${path}: the answer is not JSON`, response.status, traceId);
  }
  return { body: body as T, traceId };
}

export const listProducts = () => getJson<Product[]>('/api/products');

export const getProduct = (id: number) => getJson<Product>(`/api/products/${id}`);

/** The gateway's `/config.json`; without one the page shows trace ids but no viewer. */
export async function loadConfig(): Promise<Config> {
  try {
    const response = await fetch('/config.json');
    return response.ok ? ((await response.json()) as Config) : {};
  } catch {
    return {};
  }
}

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: string;
  timestamp?: number;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

/** The trace as the viewer's API has it so far (404 until its first span arrives). */
export async function viewerTrace(api: string, traceId: string): Promise<ZipkinSpan[]> {
  const response = await fetch(api + traceId);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`viewer API: ${response.status} ${response.statusText}`);
  return (await response.json()) as ZipkinSpan[];
}
