// The shop: the product list and one product, routed by the URL's hash (#/products/1).
import { ApiError, Config, Product, getProduct, listProducts, loadConfig } from './api';
import { h, replace } from './dom';
import { showTrace } from './waterfall';

interface Page {
  main: HTMLElement;
  trace: HTMLElement;
  config: Config;
}

const WHAT_IS_MISSING: Record<string, string> = {
  pricing: 'The price is unavailable right now (pricing did not answer).',
  stock: 'Stock levels are unavailable right now (stock did not answer).',
};

export async function start(root: HTMLElement): Promise<void> {
  const main = h('main', { id: 'content' }, h('p', { class: 'muted loading' }, 'Loading…'));
  const trace = h('section', { id: 'trace', class: 'trace' });
  replace(root, h('header', {}, h('a', { href: '#/', id: 'home' }, h('h1', {}, 'polytrace shop'))), main, trace);
  window.addEventListener('error', (event) => showError(main, event.error ?? event.message));
  window.addEventListener('unhandledrejection', (event) => showError(main, event.reason));
  const page: Page = { main, trace, config: await loadConfig() };
  window.addEventListener('hashchange', () => void route(page));
  await route(page);
}

async function route(page: Page): Promise<void> {
  const match = /^#\/products\/([^/]+)$/.exec(location.hash);
  if (match) await showProduct(page, Number(match[1]));
  else await showList(page);
}

async function showList(page: Page): Promise<void> {
  try {
    const { body } = await listProducts();
    replace(
      page.main,
      h('h2', {}, 'Products'),
      h('ul', { class: 'products' },
        body.map((product) => {
          const link = h('a', { href: `#/products/${product.id}`, class: 'product-link', 'data-id': String(product.id) }, product.name);
          // The click is the trace's root: user-interaction opens a span for this listener, and
          // the fetch inside it becomes the span's child.
          link.addEventListener('click', (event) => {
            event.preventDefault();
            history.pushState(null, '', link.getAttribute('href'));
            void showProduct(page, product.id, true);
          });
          return h('li', {}, link, ' ', h('span', { class: 'muted' }, product.description));
        })),
    );
  } catch (error) {
    showError(page.main, error);
  }
}

async function showProduct(page: Page, id: number, clicked = false): Promise<void> {
  replace(page.main, h('p', { class: 'muted loading' }, 'Loading…'));
  try {
    const { body, traceId } = await getProduct(id);
    renderProduct(page.main, body);
    if (clicked) showTrace(page.trace, page.config, traceId);
  } catch (error) {
    showError(page.main, error);
    if (clicked && error instanceof ApiError) showTrace(page.trace, page.config, error.traceId);
  }
}

function renderProduct(main: HTMLElement, product: Product): void {
  const unavailable = product.unavailable ?? [];
  const missing = unavailable.map((part) =>
    h('p', { class: 'degraded', 'data-unavailable': part }, WHAT_IS_MISSING[part] ?? `${part} is unavailable right now.`));
  const price = product.price === null
    ? h('span', { class: 'muted' }, 'price unavailable')
    : `${product.price.toFixed(2)}`;
  const stocks = product.stocks === null
    ? h('p', { class: 'muted', id: 'stocks' }, 'stock unavailable')
    : product.stocks.length === 0
      ? h('p', { id: 'stocks' }, 'Out of stock everywhere.')
      : h('table', { id: 'stocks' },
        h('thead', {}, h('tr', {}, h('th', {}, 'warehouse'), h('th', {}, 'in stock'))),
        h('tbody', {}, product.stocks.map((s) =>
          h('tr', {}, h('td', {}, `${s.warehouse.city}, ${s.warehouse.state}, ${s.warehouse.country}`),
            h('td', { class: 'number' }, String(s.quantity))))));
  replace(
    main,
    h('p', {}, h('a', { href: '#/', id: 'back' }, '← all products')),
    h('article', { class: 'product', id: `product-${product.id}` },
      h('h2', { id: 'product-name' }, product.name),
      h('p', {}, product.description),
      h('p', {}, 'price ', h('b', { id: 'price' }, price)),
      missing,
      h('h3', {}, 'Stock per warehouse'),
      stocks),
  );
}

function showError(main: HTMLElement, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  main.querySelector('.loading')?.remove();
  main.append(h('p', { class: 'error', role: 'alert' }, message));
}
