"""What runs: every component's command, environment, readiness check and URL, as data."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from polytrace import probes, system
from polytrace.builds import definitions
from polytrace.config import SERVICES, Settings

INFRA = ("postgres", "mosquitto", "viewer")
DATABASE = "polytrace"
ADMIN_ROLE = "polytrace"


@dataclass(frozen=True)
class Component:
    name: str
    phase: int  # components of one phase start together, after the previous phase is ready
    port: int
    command: tuple[str, ...]
    cwd: Path
    probe: probes.Probe
    url: str
    env: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: str = "TERM"
    ready_timeout: float = 60.0


def telemetry_env(settings: Settings, service: str) -> dict[str, str]:
    """The OTEL_* variables every service gets (docs/CONVENTIONS.md)."""
    env = {
        "OTEL_SERVICE_NAME": service,
        "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=polytrace,deployment.environment.name=local",
        "OTEL_EXPORTER_OTLP_ENDPOINT": settings.export_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PROPAGATORS": "tracecontext,baggage",
        "OTEL_BSP_SCHEDULE_DELAY": "500",
        "OTEL_SEMCONV_STABILITY_OPT_IN": "http,database",
    }
    if not settings.tracing:
        env["OTEL_SDK_DISABLED"] = "true"
    return env


def service_env(settings: Settings, service: str, passwords: Mapping[str, str]) -> dict[str, str]:
    ports = settings.ports
    env = {
        **telemetry_env(settings, service),
        "HOST": "127.0.0.1",
        "PORT": str(ports[service]),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(ports["postgres"]),
        "PGDATABASE": DATABASE,
        "PGUSER": service,
        "PGPASSWORD": passwords[service],
    }
    if service in ("catalog", "analytics"):
        env |= {
            "MQTT_HOST": "127.0.0.1",
            "MQTT_PORT": str(ports["mosquitto"]),
            "MQTT_TOPIC": "analytics",
            "MQTT_CLIENT_ID": service,
        }
    if service == "catalog":
        env |= {
            "PRICING_URL": f"http://127.0.0.1:{ports['pricing']}",
            "STOCK_URL": f"http://127.0.0.1:{ports['stock']}",
            # The Java agent copies this baggage entry onto every span, as the other services do.
            "OTEL_JAVA_EXPERIMENTAL_SPAN_ATTRIBUTES_COPY_FROM_BAGGAGE_INCLUDE": "app.session",
        }
    if settings.debug_endpoints:
        env["POLYTRACE_DEBUG_ENDPOINTS"] = "1"
    return env | dict(settings.extra_env)


def _service_command(settings: Settings, service: str) -> tuple[str, ...]:
    root = settings.root / "services" / service
    outputs = definitions(settings.root)[service].outputs
    if service == "pricing":
        gunicorn = (str(root / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py")
        return (str(root / ".venv/bin/opentelemetry-instrument"), *gunicorn) if settings.tracing else gunicorn
    if service == "stock":
        return (str(outputs[0]),)
    if service == "analytics":
        preload = ("--require", "./dist/telemetry.js") if settings.tracing else ()
        # The default 16 MiB young generation is mostly empty at this message rate: -20 MiB RSS, same CPU.
        return ("node", "--max-semi-space-size=4", *preload, "dist/main.js")
    jar, agent = outputs
    agent_flag = (f"-javaagent:{agent}",) if settings.tracing else ()
    jvm = ("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto")
    return ("java", *jvm, *agent_flag, "-jar", str(jar))


def selected_services(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """POLYTRACE_SERVICES narrows the stack to some services (default: all four)."""
    raw = (os.environ if env is None else env).get("POLYTRACE_SERVICES", "")
    wanted = tuple(s.strip() for s in raw.split(",") if s.strip())
    return tuple(s for s in SERVICES if s in wanted) if wanted else SERVICES


def all_components(
    settings: Settings, passwords: Mapping[str, str], services: Iterable[str] | None = None
) -> list[Component]:
    ports = settings.ports
    run = settings.run_dir
    bindir = system.postgres_bindir()
    components = [
        Component(
            name="postgres",
            phase=0,
            port=ports["postgres"],
            command=(
                str(bindir / "postgres"),
                "-D", str(run / "postgres" / "data"),
                "-p", str(ports["postgres"]),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=",
                # Every backend's RSS counts the shared memory it touched: a small cluster keeps that
                # (and the postmaster) 3 MiB smaller each. 40 covers the services' pools (28 at most)
                # plus a few admin sessions; the data set is a few pages.
                "-c", "shared_buffers=16MB",
                "-c", "max_connections=40",
                "-c", "synchronous_commit=off",
            ),
            cwd=run / "postgres",
            probe=probes.postgres_ready(str(bindir / "pg_isready"), ports["postgres"]),
            url=f"postgresql://127.0.0.1:{ports['postgres']}/{DATABASE}",
            user=system.daemon_user("postgres"),
            stop_signal="INT",  # PostgreSQL's "fast" shutdown
        ),
        Component(
            name="mosquitto",
            phase=0,
            port=ports["mosquitto"],
            command=("mosquitto", "-c", str(run / "mosquitto" / "mosquitto.conf")),
            cwd=run / "mosquitto",
            probe=probes.tcp_open(ports["mosquitto"]),
            url=f"mqtt://127.0.0.1:{ports['mosquitto']}",
            user=system.daemon_user("mosquitto"),
        ),
    ]
    if settings.viewer_enabled:
        components += _viewer(settings)
    for service in selected_services() if services is None else services:
        components.append(
            Component(
                name=service,
                phase=1,
                port=ports[service],
                command=_service_command(settings, service),
                cwd=settings.root / "services" / service,
                env=service_env(settings, service, passwords),
                probe=probes.http_ok(f"http://127.0.0.1:{ports[service]}/health"),
                url=f"http://127.0.0.1:{ports[service]}",
                ready_timeout=120.0 if service == "catalog" else 60.0,
            )
        )
    return components


def _viewer(settings: Settings) -> list[Component]:
    """Zipkin's server and the OTLP bridge in front of it (infra/viewer/README.md)."""
    ports = settings.ports
    [zipkin_jar] = definitions(settings.root)["viewer"].outputs
    zipkin_url = f"http://127.0.0.1:{ports['viewer']}"
    return [
        Component(
            name="viewer",
            phase=0,
            port=ports["viewer"],
            command=(
                "java", "-Xms32m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                # Armeria's default of 200 blocking threads grows to ~100 under load, for a storage
                # that takes one lock per write anyway.
                "-Dcom.linecorp.armeria.numCommonBlockingTaskThreads=4",
                # All three are needed: the address alone makes Zipkin pick a random port.
                "-Darmeria.ports[0].address=127.0.0.1",
                f"-Darmeria.ports[0].port={ports['viewer']}",
                "-Darmeria.ports[0].protocols[0]=http",
                "-jar", str(zipkin_jar),
            ),
            cwd=zipkin_jar.parent,
            env={
                "QUERY_PORT": str(ports["viewer"]),
                "STORAGE_TYPE": "mem",
                # ~2 KiB of heap per span: 20,000 (about 1,400 golden traces) fit in -Xmx128m with room
                # to collect; 100,000 filled a 256 MiB heap and Zipkin ran back-to-back full GCs.
                "MEM_MAX_SPANS": "20000",
                "COLLECTOR_GRPC_ENABLED": "false",
                "SELF_TRACING_ENABLED": "false",
            },
            probe=probes.http_ok(f"{zipkin_url}/health"),
            url=f"{zipkin_url}/zipkin/",
            ready_timeout=90.0,
        ),
        Component(
            name="otlp",
            phase=1,  # after Zipkin, before nothing: services export with retries meanwhile
            port=ports["otlp"],
            command=(sys.executable, "-m", "polytrace.zipkin_bridge", "--port", str(ports["otlp"]),
                     "--zipkin-url", zipkin_url),
            cwd=settings.root,
            probe=probes.http_ok(f"http://127.0.0.1:{ports['otlp']}/health"),
            url=f"http://127.0.0.1:{ports['otlp']}/v1/traces",
        ),
    ]
