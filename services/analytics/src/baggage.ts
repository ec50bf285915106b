// Which baggage entries become span attributes. Kept apart from telemetry.ts (which starts the
// SDK when loaded) so the unit tests can wire the same rule into their own provider.

/** Baggage keys copied onto every span as attributes (e.g. `app.session`). */
export const APP_BAGGAGE_PREFIX = 'app.';

/** The key predicate given to @opentelemetry/baggage-span-processor. */
export const isAppBaggageKey = (key: string): boolean => key.startsWith(APP_BAGGAGE_PREFIX);
