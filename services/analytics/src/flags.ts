// Failure flags (issue 14): OpenFeature's server SDK with the flagd provider, evaluated per
// message. Each evaluation is recorded as a `feature_flag.evaluation` event on the active span
// by OpenFeature's OpenTelemetry SpanEventHook (feature_flag.key, feature_flag.result.variant,
// feature_flag.provider.name, …, the semantic conventions for feature flags).
import { watchFile } from 'node:fs';
import { resolve } from 'node:path';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { SpanEventHook } from '@openfeature/open-telemetry-hooks';
import { type Client, type Logger as OpenFeatureLogger, OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import type { FlagsConfig } from './config';
import type { Logger } from './log';

export const ANALYTICS_FAILURE = 'analyticsFailure';

/** What the message handler asks; tests give it an in-memory provider. */
export interface FailureFlags {
  /** analyticsFailure: while true, page views must not be stored (they are held back, not lost). */
  analyticsFailure(): Promise<boolean>;
}

export function openFeatureFlags(client: Client = OpenFeature.getClient()): FailureFlags {
  return { analyticsFailure: () => client.getBooleanValue(ANALYTICS_FAILURE, false) };
}

/** A flag that is on and made this operation fail on purpose. */
export class FailureFlagError extends Error {
  constructor(readonly flag: string) {
    super(`${flag} is on: the page view is not stored now; the broker delivers it again once the flag is off`);
    this.name = 'FailureFlagError';
  }
}

/** How often the flags file is polled: a change applies within this (plus one evaluation). */
export const FLAGS_FILE_POLL_MS = 500;

/**
 * Registers the hook and, when configured, the flagd provider; resolves once the flags are read.
 * Without configuration there is no provider and every flag takes its default (off).
 * `onChange` runs after the provider applied a changed flags file.
 */
export async function startFlags(cfg: FlagsConfig | undefined, onChange: () => void, logger?: Logger): Promise<void> {
  const log = logger && openFeatureLogger(logger);
  if (log) OpenFeature.setLogger(log);
  OpenFeature.addHooks(new SpanEventHook());
  if (!cfg) return;
  if (cfg.sourcePath) pollFlagsFile(cfg.sourcePath);
  await OpenFeature.setProviderAndWait(
    new FlagdProvider({ resolverType: cfg.resolver, offlineFlagSourcePath: cfg.sourcePath }, log),
  );
  OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, onChange);
}

export function stopFlags(): Promise<void> {
  return OpenFeature.close();
}

/** OpenFeature and the provider log sentences (e.g. a flags file that is not valid JSON). */
function openFeatureLogger(logger: Logger): OpenFeatureLogger {
  const child = logger.child({ component: 'openfeature' });
  const at = (level: 'error' | 'warn' | 'info' | 'debug') => (...args: unknown[]) =>
    child[level]({ detail: args.map(String).join(' ') }, `openfeature.${level}`);
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/**
 * The flagd provider (0.16.1, the latest) watches its file with `fs.watchFile` and Node's default
 * interval, 5007 ms — over the 2 s a flag change may take. Node keeps one stat watcher per path
 * and a later `watchFile` on the same path joins it, so starting the watcher first, with our
 * interval, makes the provider's listener fire at that pace. Stat polling (not fs.watch) also
 * sees a file replaced by rename, which is how `polytrace flags set` writes it. Not persistent:
 * it never keeps the process alive. The provider's `unwatchFile` on close stops it.
 */
function pollFlagsFile(path: string): void {
  watchFile(resolve(path), { interval: FLAGS_FILE_POLL_MS, persistent: false }, () => {});
}
