"""What made each span: a library's instrumentation, or code in this repository ("explicit").

The instrumentation scope (OTLP's InstrumentationScope name, carried to Zipkin as the tag
`otel.scope.name`) says which tracer created a span. ORIGINS maps the scopes of this stack to
a short label and, for the spans this repository creates itself, the file that creates them
(polytrace/tests/test_inspect_origins.py checks that every file exists). A span whose scope is
not listed still gets a label from its scope's naming pattern (FAMILIES).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from polytrace.inspect.spans import TraceSpan


@dataclass(frozen=True)
class Origin:
    label: str  # what the waterfall prints
    explicit: bool = False  # created by this repository's code, not by a library's instrumentation
    file: str = ""  # explicit: the file that creates the span; library: where the instrumentation is switched on
    scope: str = ""


@dataclass(frozen=True)
class Rule:
    scope: str  # the scope name, exactly
    origin: Origin
    kind: str = ""  # only spans of this kind ("" = any)
    name_prefix: str = ""  # only spans whose name starts so (case-insensitive; "" = any)


CATALOG = "services/catalog/src/main/kotlin/dev/polytrace/catalog"
AGENT = "polytrace/components.py"  # attaches the Java agent: -javaagent in catalog's run command
PRICING_AGENT = "services/pricing/pyproject.toml"  # the instrumentations opentelemetry-instrument loads
ANALYTICS_SETUP = "services/analytics/src/telemetry.ts"

ORIGINS: tuple[Rule, ...] = (
    # catalog: the Java agent (zero-code), @WithSpan, and the tracer API for what the agent cannot see
    Rule("io.opentelemetry.netty-4.1", Origin("Java agent: Netty", file=AGENT)),
    Rule("io.opentelemetry.reactor-netty-1.0", Origin("Java agent: Reactor Netty", file=AGENT)),
    Rule("io.opentelemetry.spring-webflux-5.0", Origin("Java agent: Spring WebClient", file=AGENT)),
    Rule("io.opentelemetry.spring-webflux-5.3", Origin("Java agent: Spring WebFlux", file=AGENT)),
    Rule("io.opentelemetry.r2dbc-1.0", Origin("Java agent: R2DBC", file=AGENT)),
    # @WithSpan on a suspend function is handled by the agent's coroutines instrumentation.
    Rule("io.opentelemetry.kotlinx-coroutines-1.0",
         Origin("explicit: @WithSpan", explicit=True, file=f"{CATALOG}/web/ProductController.kt"),
         name_prefix="ProductController."),
    Rule("io.opentelemetry.opentelemetry-instrumentation-annotations-1.16",
         Origin("explicit: @WithSpan", explicit=True, file=f"{CATALOG}/web/ProductController.kt"),
         name_prefix="ProductController."),
    Rule("catalog", Origin("explicit: tracer API", explicit=True, file=f"{CATALOG}/messaging/MqttPageViewPublisher.kt"),
         kind="PRODUCER"),
    Rule("catalog", Origin("explicit: tracer API", explicit=True, file=f"{CATALOG}/domain/ProductService.kt"),
         name_prefix="assemble"),
    # pricing: opentelemetry-instrument (zero-code) and one tracer-API span
    Rule("opentelemetry.instrumentation.flask", Origin("Flask instrumentation", file=PRICING_AGENT)),
    Rule("opentelemetry.instrumentation.psycopg", Origin("psycopg instrumentation", file=PRICING_AGENT)),
    Rule("opentelemetry.instrumentation.sqlalchemy", Origin("SQLAlchemy instrumentation", file=PRICING_AGENT)),
    Rule("opentelemetry.instrumentation.requests", Origin("requests instrumentation", file=PRICING_AGENT)),
    Rule("pricing.app", Origin("explicit: tracer API", explicit=True, file="services/pricing/src/pricing/app.py")),
    # stock: `tracing` spans of its own, exported by tracing-opentelemetry
    Rule("stock", Origin("explicit: tracing span", explicit=True, file="services/stock/src/http/server_span.rs"),
         kind="SERVER"),
    Rule("stock", Origin("explicit: tracing span", explicit=True, file="services/stock/src/db/traced.rs"),
         kind="CLIENT"),
    # analytics: NodeSDK's instrumentations and the consumer span of its own
    Rule("@opentelemetry/instrumentation-pg", Origin("pg instrumentation", file=ANALYTICS_SETUP)),
    Rule("@opentelemetry/instrumentation-http", Origin("http instrumentation", file=ANALYTICS_SETUP)),
    Rule("analytics", Origin("explicit: tracer API", explicit=True, file="services/analytics/src/pageview/handler.ts"),
         kind="CONSUMER"),
)

# Scopes not in ORIGINS, labelled from the instrumentation projects' naming conventions.
FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^io\.opentelemetry\.(?P<lib>.+?)(?:-\d[\d.]*)?$"), "Java agent: {lib}"),
    (re.compile(r"^opentelemetry\.instrumentation\.(?P<lib>.+)$"), "{lib} instrumentation"),
    (re.compile(r"^@opentelemetry/instrumentation-(?P<lib>.+)$"), "{lib} instrumentation"),
    (re.compile(r"^go\.opentelemetry\.io/contrib/instrumentation/(?P<lib>.+)$"), "Go contrib: {lib}"),
)


def origin_of(span: TraceSpan) -> Origin:
    for rule in ORIGINS:
        if rule.scope == span.scope and rule.kind in ("", span.kind) and \
                span.name.lower().startswith(rule.name_prefix.lower()):
            return Origin(rule.origin.label, rule.origin.explicit, rule.origin.file, span.scope)
    if not span.scope:
        return Origin("unknown (no scope exported)")
    for pattern, label in FAMILIES:
        match = pattern.match(span.scope)
        if match:
            return Origin(label.format(**match.groupdict()), scope=span.scope)
    # A tracer named after the service or a module: code of its own, file not listed here.
    explicit = span.scope == span.service or span.scope.startswith(f"{span.service}.")
    return Origin("explicit: tracer API" if explicit else span.scope, explicit=explicit, scope=span.scope)
