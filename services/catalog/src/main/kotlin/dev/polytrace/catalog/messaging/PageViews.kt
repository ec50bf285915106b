package dev.polytrace.catalog.messaging

/** The page-view payload (docs/ARCHITECTURE.md, contracts): `{"id","path","clientIp","ts"}`, `ts` in RFC 3339 (UTC). */
data class PageViewEvent(val id: String, val path: String, val clientIp: String, val ts: String)

/** What the publisher has done so far; shown under `mqtt` in `GET /health`. */
data class PageViewStats(
    val connected: Boolean,
    /** Events waiting in the buffer (broker unreachable, or not yet handed to the client). */
    val buffered: Int,
    /** Events dropped because the buffer was full (MQTT_BUFFER_SIZE) or left at shutdown. */
    val dropped: Long,
    /** Events handed to the MQTT client. */
    val published: Long,
    /** Events the broker acknowledged (QoS 1 PUBACK). */
    val delivered: Long,
    /** Events whose delivery failed after being handed to the client. */
    val failed: Long,
)

/** Records page views. Never blocks and never throws into the HTTP request. */
interface PageViews {
    fun record(path: String, clientIp: String)
    fun stats(): PageViewStats
}
