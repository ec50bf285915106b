package dev.polytrace.catalog.persistence

import io.r2dbc.spi.ConnectionFactory
import org.springframework.context.annotation.Bean
import org.springframework.context.annotation.Configuration
import org.springframework.r2dbc.core.DatabaseClient

/** Spring Boot's own `DatabaseClient` backs off: ours runs statements in the request's context. */
@Configuration(proxyBeanMethods = false)
class DatabaseClientConfig {
    @Bean
    fun databaseClient(connectionFactory: ConnectionFactory): DatabaseClient =
        DatabaseClient.create(ContextCarryingConnectionFactory(connectionFactory))
}
