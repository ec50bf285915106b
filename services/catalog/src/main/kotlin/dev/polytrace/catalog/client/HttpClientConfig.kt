package dev.polytrace.catalog.client

import dev.polytrace.catalog.config.CatalogProperties
import io.netty.channel.ChannelOption
import org.springframework.context.annotation.Bean
import org.springframework.context.annotation.Configuration
import org.springframework.http.client.reactive.ReactorClientHttpConnector
import org.springframework.web.reactive.function.client.WebClient
import reactor.netty.http.client.HttpClient

@Configuration(proxyBeanMethods = false)
class HttpClientConfig {
    /**
     * The one outbound HTTP client (connection pool shared by pricing and stock calls). Connect and
     * response timeouts make a slow dependency fail *inside* the HTTP client, so the agent's CLIENT
     * span ends with ERROR and `error.type` (a call cancelled from outside would not be marked); the
     * service's coroutine timeout is only the outer bound.
     */
    @Bean
    fun dependencyWebClient(builder: WebClient.Builder, properties: CatalogProperties): WebClient {
        val timeout = properties.dependencyTimeout
        val http = HttpClient.create()
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeout.toMillis().coerceAtMost(Int.MAX_VALUE.toLong()).toInt())
            .responseTimeout(timeout)
        return builder.clientConnector(ReactorClientHttpConnector(http)).build()
    }
}
