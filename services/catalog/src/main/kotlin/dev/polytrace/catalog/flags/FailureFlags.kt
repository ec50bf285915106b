package dev.polytrace.catalog.flags

import dev.openfeature.contrib.providers.flagd.Config
import dev.openfeature.contrib.providers.flagd.FlagdOptions
import dev.openfeature.contrib.providers.flagd.FlagdProvider
import dev.openfeature.sdk.Client
import dev.openfeature.sdk.OpenFeatureAPI
import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.telemetry.FeatureFlagSpanEvents
import org.slf4j.LoggerFactory
import org.springframework.beans.factory.DisposableBean
import org.springframework.stereotype.Component

/** The failure flags catalog reads (`infra/flags/flags.json`, `metadata.service: catalog`). */
interface FailureFlags {
    /** `catalogProductFailure`: `GET /products/{this id}` fails with 500; 0 is off. */
    fun brokenProductId(): Long

    companion object {
        const val PRODUCT_FAILURE = "catalogProductFailure"
    }
}

/**
 * The flags through OpenFeature and the flagd provider in file mode, evaluated on every call (a
 * change to the file applies within the poll interval, no restart). Each evaluation is recorded on
 * the current span ([FeatureFlagSpanEvents]). Without `FLAGD_RESOLVER` no provider is set and every
 * flag takes its default (off). The provider is registered for catalog's own OpenFeature domain.
 */
@Component
class OpenFeatureFailureFlags(properties: CatalogProperties) : FailureFlags, DisposableBean {
    private val log = LoggerFactory.getLogger(javaClass)
    private val provider: FlagdProvider?
    private val client: Client

    init {
        val flags = properties.flags
        val api = OpenFeatureAPI.getInstance()
        provider = if (flags.enabled) {
            FlagdProvider(
                FlagdOptions.builder()
                    .resolverType(Config.Resolver.FILE)
                    .offlineFlagSourcePath(flags.sourcePath)
                    .offlinePollIntervalMs(flags.pollInterval.toMillis().toInt())
                    // Startup waits twice this for the first read; the default (500 ms) is too short
                    // for the first load of the provider's classes under the agent on a busy machine.
                    .deadline(INIT_DEADLINE_MS)
                    .build(),
            ).also {
                // Fails startup when the file cannot be read: a missing flags file is a setup error.
                api.setProviderAndWait(DOMAIN, it)
                log.info("flags.ready source={} poll_ms={}", flags.sourcePath, flags.pollInterval.toMillis())
            }
        } else {
            null
        }
        client = api.getClient(DOMAIN)
        client.addHooks(FeatureFlagSpanEvents())
    }

    override fun brokenProductId(): Long = client.getIntegerValue(FailureFlags.PRODUCT_FAILURE, 0).toLong()

    override fun destroy() {
        provider?.shutdown()
    }

    private companion object {
        const val DOMAIN = "catalog"
        const val INIT_DEADLINE_MS = 5_000
    }
}
