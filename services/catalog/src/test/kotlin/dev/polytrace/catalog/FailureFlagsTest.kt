package dev.polytrace.catalog

import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.flags.OpenFeatureFailureFlags
import org.assertj.core.api.Assertions.assertThat
import org.assertj.core.api.Assertions.assertThatThrownBy
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption
import java.time.Duration

/** The real OpenFeature SDK and flagd provider in file mode, on a flags file written like the CLI does. */
class FailureFlagsTest {
    @TempDir lateinit var dir: Path

    private fun properties(flags: CatalogProperties.Flags) = CatalogProperties(
        pricingUrl = URI("http://127.0.0.1:1"), stockUrl = URI("http://127.0.0.1:2"),
        dependencyTimeout = Duration.ofSeconds(1), databaseTimeout = Duration.ofSeconds(1), flags = flags,
        mqtt = CatalogProperties.Mqtt("127.0.0.1", 1883, "analytics", "catalog", 10),
    )

    /** As `polytrace flags set`: a temp file in the same folder, renamed over the live one. */
    private fun writeFlags(file: Path, productId: Int) {
        val variants = if (productId == 0) """{"off": 0}""" else """{"off": 0, "on": $productId}"""
        val default = if (productId == 0) "off" else "on"
        val tmp = Files.createTempFile(dir, "flags", ".tmp")
        Files.writeString(
            tmp,
            """{"flags": {"catalogProductFailure": {"state": "ENABLED", "variants": $variants, "defaultVariant": "$default",
               "metadata": {"service": "catalog", "type": "integer"}}}}""",
        )
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
    }

    private fun waitFor(flags: OpenFeatureFailureFlags, expected: Long): Long {
        val started = System.nanoTime()
        while (flags.brokenProductId() != expected) {
            check(System.nanoTime() - started < 2_000_000_000L) { "catalogProductFailure still ${flags.brokenProductId()} after 2 s, expected $expected" }
            Thread.sleep(50)
        }
        return (System.nanoTime() - started) / 1_000_000
    }

    @Test
    fun `without FLAGD_RESOLVER every flag is off`() {
        val flags = OpenFeatureFailureFlags(properties(CatalogProperties.Flags()))
        assertThat(flags.brokenProductId()).isZero()
        flags.destroy()
    }

    @Test
    fun `a rename-replaced flags file applies within 2 s, without restart`() {
        val file = dir.resolve("flags.json")
        writeFlags(file, 0)
        val flags = OpenFeatureFailureFlags(properties(CatalogProperties.Flags("file", file.toString(), Duration.ofMillis(500))))
        try {
            assertThat(flags.brokenProductId()).isZero()
            Thread.sleep(20) // the provider compares modification times in milliseconds
            writeFlags(file, 2)
            waitFor(flags, 2)
            Thread.sleep(20)
            writeFlags(file, 0)
            waitFor(flags, 0)
        } finally {
            flags.destroy()
        }
    }

    @Test
    fun `file mode needs the file's path, and only file mode is supported`() {
        assertThatThrownBy { CatalogProperties.Flags("file", "") }.hasMessageContaining("FLAGD_OFFLINE_FLAG_SOURCE_PATH")
        assertThatThrownBy { CatalogProperties.Flags("rpc", "/x") }.hasMessageContaining("FLAGD_RESOLVER")
    }
}
