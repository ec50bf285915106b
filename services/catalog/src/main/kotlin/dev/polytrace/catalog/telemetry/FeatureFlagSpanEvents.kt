package dev.polytrace.catalog.telemetry

import dev.openfeature.sdk.FlagEvaluationDetails
import dev.openfeature.sdk.Hook
import dev.openfeature.sdk.HookContext
import dev.openfeature.sdk.exceptions.OpenFeatureError
import io.opentelemetry.api.common.AttributeKey
import io.opentelemetry.api.common.AttributesBuilder
import io.opentelemetry.api.common.Attributes
import io.opentelemetry.api.trace.Span

/**
 * Records every flag evaluation as a `feature_flag.evaluation` event on the current span, with the
 * semantic conventions' feature-flag attributes. OpenFeature's own OpenTelemetry hook
 * (`dev.openfeature.contrib.hooks:otel`) is not served by Maven Central here, and its last release
 * uses the older names (`feature_flag` event, `feature_flag.provider_name`, `feature_flag.variant`).
 */
class FeatureFlagSpanEvents : Hook<Any> {
    override fun after(ctx: HookContext<Any>, details: FlagEvaluationDetails<Any>, hints: Map<String, Any>) {
        val attributes = common(ctx)
        details.variant?.let { attributes.put(VARIANT, it) }
        details.reason?.let { attributes.put(REASON, it.lowercase()) }
        when (val value = details.value) {
            is Int -> attributes.put(VALUE_INT, value.toLong())
            is Long -> attributes.put(VALUE_INT, value)
            is Boolean -> attributes.put(VALUE_BOOL, value)
            null -> {}
            else -> attributes.put(VALUE_STRING, value.toString())
        }
        Span.current().addEvent(EVENT, attributes.build())
    }

    override fun error(ctx: HookContext<Any>, error: Exception, hints: Map<String, Any>) {
        val errorType = (error as? OpenFeatureError)?.errorCode?.name?.lowercase() ?: error.javaClass.name
        Span.current().addEvent(EVENT, common(ctx).put(REASON, "error").put(Telemetry.ERROR_TYPE, errorType).build())
    }

    private fun common(ctx: HookContext<Any>): AttributesBuilder =
        Attributes.builder()
            .put(KEY, ctx.flagKey)
            .put(PROVIDER, ctx.providerMetadata.name)

    companion object {
        const val EVENT = "feature_flag.evaluation"
        val KEY: AttributeKey<String> = AttributeKey.stringKey("feature_flag.key")
        val PROVIDER: AttributeKey<String> = AttributeKey.stringKey("feature_flag.provider.name")
        val VARIANT: AttributeKey<String> = AttributeKey.stringKey("feature_flag.result.variant")
        val REASON: AttributeKey<String> = AttributeKey.stringKey("feature_flag.result.reason")
        val VALUE_INT: AttributeKey<Long> = AttributeKey.longKey("feature_flag.result.value")
        val VALUE_BOOL: AttributeKey<Boolean> = AttributeKey.booleanKey("feature_flag.result.value")
        val VALUE_STRING: AttributeKey<String> = AttributeKey.stringKey("feature_flag.result.value")
    }
}
