"""The `polytrace` command: one thin function per command; the work happens in engine.py."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from polytrace.config import DEFAULT_PORTS, load_settings
from polytrace.engine import Engine
from polytrace.errors import PolytraceError
from polytrace.progress import LiveLines

console = Console(stderr=True, highlight=False, soft_wrap=True)


def _plain(message: str) -> None:
    """A benchmark's progress line, as text: its `[test]`s and brackets are not markup."""
    console.out(message, highlight=False)
reporter = LiveLines(console)  # closed in main(), so a failed start leaves no live line behind


def _parse_ports(values: tuple[str, ...]) -> dict[str, int]:
    ports = {}
    for value in values:
        name, sep, port = value.partition("=")
        if not sep or not port.isdigit():
            raise click.BadParameter(f"{value!r} is not NAME=PORT", param_hint="--port")
        ports[name] = int(port)
    return ports


def _engine(**flags) -> Engine:
    return Engine(load_settings(**flags), reporter)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Run the polytrace demo stack locally, traced end to end."""


@cli.command()
@click.option("--detach", "-d", is_flag=True, help="Start in the background and return.")
@click.option("--otlp-endpoint", metavar="URL",
              help="Send every service's traces here instead of the bundled viewer "
                   "[env: POLYTRACE_OTLP_ENDPOINT].")
@click.option("--port", "ports", multiple=True, metavar="NAME=PORT",
              help=f"Override a port; NAME is one of {', '.join(DEFAULT_PORTS)} "
                   "[env: POLYTRACE_<NAME>_PORT].")
@click.option("--no-tracing", is_flag=True, help="Run without any instrumentation (the benchmark baseline).")
@click.option("--debug-endpoints", is_flag=True, help="Enable POST /debug/tracecontext on every service.")
def up(detach: bool, otlp_endpoint: str | None, ports: tuple[str, ...], no_tracing: bool,
       debug_endpoints: bool) -> None:
    """Build what is stale, then start PostgreSQL, Mosquitto, the viewer and the services."""
    engine = _engine(otlp_endpoint=otlp_endpoint, ports=_parse_ports(ports),
                     tracing=False if no_tracing else None, debug_endpoints=debug_endpoints or None)
    components = engine.up()
    settings = engine.settings
    table = Table(title="polytrace is up", show_header=True, header_style="bold")
    table.add_column("component")
    table.add_column("url")
    for component in components:
        table.add_row(component.name, component.url)
    console.print(table)
    if settings.viewer_enabled:
        console.print(f"Traces: [bold]{next(c.url for c in components if c.name == 'viewer')}[/]")
    else:
        console.print(f"Traces are exported to {settings.export_endpoint}" if settings.tracing
                      else "Tracing is off.")
    console.print(f"Try: curl -i http://127.0.0.1:{settings.ports['catalog']}/products/1")
    if detach:
        console.print("Running in the background; stop with `polytrace down` (or `make down`).")
        return
    console.print("Logs follow; Ctrl-C stops everything.")
    _follow_until_signal(engine, [c.name for c in components])


def _follow_until_signal(engine: Engine, names: list[str]) -> None:
    stop = {"requested": False}

    def request_stop(signum, _frame):
        stop["requested"] = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    offsets = {name: _size(engine.settings.logs_dir / f"{name}.log") for name in names}
    try:
        while not stop["requested"]:
            for name in names:
                offsets[name] = _print_new_lines(engine.settings.logs_dir / f"{name}.log", name,
                                                 offsets[name])
            if not engine.supervisor.pid():
                console.print("[red]supervisord went away; stopping[/]")
                break
            time.sleep(0.25)
    finally:
        console.print()
        engine.down()


def _unwind_on_sigterm() -> None:
    """SIGTERM (a CI job's timeout, `kill`) unwinds as Ctrl-C does, so every stack a run started goes
    down on the way out; by default Python would die at once and leave them running."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _print_new_lines(path: Path, name: str, offset: int) -> int:
    if not path.exists():
        return offset
    size = path.stat().st_size
    if size < offset:  # rotated
        offset = 0
    if size == offset:
        return offset
    with path.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read()
    for line in chunk.decode(errors="replace").splitlines():
        console.out(f"{name:>9} | {line}", highlight=False)
    return offset + len(chunk)


@cli.command()
def down() -> None:
    """Stop everything a detached `up` started."""
    engine = _engine()
    if not engine.supervisor.pid():
        console.print("polytrace is not running.")
    leftovers = engine.down()
    if leftovers:
        console.print(f"[yellow]killed processes that outlived supervisord: {leftovers}[/]")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Each component: state, pid, port, health and URL."""
    statuses = _engine().status()
    if as_json:
        click.echo(json.dumps([s.__dict__ for s in statuses], indent=2))
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("component", "state", "pid", "port", "health", "url"):
        table.add_column(column)
    for s in statuses:
        health = "[green]healthy[/]" if s.healthy else "[red]unhealthy[/]"
        table.add_row(s.name, s.state, str(s.pid or "-"), str(s.port), health, s.url)
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    if not all(s.healthy for s in statuses):
        sys.exit(1)


@cli.command()
@click.argument("component", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@click.option("--lines", "-n", default=100, show_default=True, help="How many lines to show first.")
@click.option("--trace", "trace_id", metavar="TRACE_ID",
              help="Instead: every component's lines of this trace, merged in time order.")
def logs(component: str | None, follow: bool, lines: int, trace_id: str | None) -> None:
    """Show the logs under .run/logs/ (one component, or all)."""
    if trace_id:
        from polytrace.inspect import commands

        commands.show_logs(_stdout(), load_settings(), trace_id)
        return
    logs_dir = load_settings().logs_dir
    files = [logs_dir / f"{component}.log"] if component else sorted(logs_dir.glob("*.log"))
    missing = [f for f in files if not f.exists()]
    if not files or missing:
        raise PolytraceError(f"no log {'for ' + component if component else ''} under {logs_dir}")
    args = ["tail", "-n", str(lines), *(["-F"] if follow else []), *map(str, files)]
    os.execvp("tail", args)


@cli.command()
@click.argument("trace_id", required=False)
@click.option("--last", is_flag=True, help="The latest trace with a catalog SERVER span.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per span, for scripts.")
@click.option("--wait", "wait_s", type=float, default=3.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a trace that has not (all) arrived yet.")
def trace(trace_id: str | None, last: bool, as_json: bool, wait_s: float) -> None:
    """Show a trace from the bundled viewer as a waterfall: what called what, how long, and what made each span."""
    from polytrace.inspect import commands

    commands.show_trace(_stdout(), load_settings(), trace_id, last, as_json, wait_s)


@cli.command()
def demo() -> None:
    """Send one request, then show its response, its trace, its log lines and where to see it in the viewer."""
    from polytrace.inspect import commands

    commands.demo(_stdout(), load_settings())


def _stdout() -> Console:
    """Standard output, wide enough for a waterfall when it is not a terminal (a pipe, a file)."""
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, soft_wrap=False, width=200 if wide else None)


@cli.command()
@click.argument("components", nargs=-1)
def build(components: tuple[str, ...]) -> None:
    """Build the services (and fetch the viewer) when their sources changed."""
    _engine().build(components or None)


@cli.command()
@click.option("--check", is_flag=True, help="Only say whether they are stale (exit 1 if so).")
def docs(check: bool) -> None:
    """Regenerate the tables of docs/ that come from the registry (polytrace/components.toml)."""
    from polytrace import docs as generated

    root = load_settings().root
    changed = generated.stale(root) if check else generated.write(root)
    if check and changed:
        raise PolytraceError(f"stale generated tables in {', '.join(changed)}; run `polytrace docs`")
    console.print(f"{'stale' if check else 'rewrote'}: {', '.join(changed)}" if changed else "docs are up to date")


@cli.command("unit-tests")
@click.argument("components", nargs=-1)
def unit_tests(components: tuple[str, ...]) -> None:
    """Run each component's own unit tests (the `tests` of polytrace/components.toml)."""
    from polytrace import builds

    builds.run_tests(load_settings().root, components or None,
                     echo=lambda message: console.print(f"[cyan]…[/] {message}"))


@cli.command()
@click.argument("component")
def stop(component: str) -> None:
    """Stop one component of a running stack (to try failures)."""
    _engine().stop_component(component)
    console.print(f"stopped {component}")


@cli.command()
@click.argument("component")
def start(component: str) -> None:
    """Start one stopped component again and wait until it is ready."""
    _engine().start_component(component)


@cli.command()
@click.option("--quick", is_flag=True,
              help="A few seconds per phase and one pair: proves the harness, not the figures.")
@click.option("--cold", is_flag=True,
              help="Instead: clone the last commit with empty caches and time it to its first complete trace "
                   "(downloads everything; ~10 min).")
@click.option("--span-cost", is_flag=True,
              help="Instead: only the CPU one span costs in each language's SDK, as each service sets it up "
                   "(a full bench includes it; with --quick: a harness check).")
@click.option("--pairs", type=int, help="Untraced/traced pairs, up side by side per pass (full mode: 3).")
@click.option("--sustained", "sustained_s", type=float, metavar="SECONDS",
              help="Length of the completeness phase (full mode: 60).")
@click.option("--rate", type=float, help="Fixed request rate for latency and completeness (default: half the "
                                         "median untraced maximum).")
@click.option("--otel", "otel_env", multiple=True, metavar="NAME=VALUE",
              help="Extra variable for the traced services, to try a setting (e.g. OTEL_BSP_MAX_QUEUE_SIZE=8192).")
@click.option("--lever", "levers", multiple=True, metavar="NAME:VAR=VALUE[,VAR=VALUE…]",
              help="Instead: an ablation. The untraced, the traced and one traced stack per lever (its variables "
                   "on top) up at once, taking throughput slices in turn; CPU per request, req/s and memory of "
                   "each lever against the traced stack (repeatable, up to 6; bench/README.md).")
@click.option("--untraced-lever", "untraced_levers", multiple=True, metavar="NAME:VAR=VALUE[,VAR=VALUE…]",
              help="In an ablation: a lever on an untraced stack, against the untraced one (a setting that is "
                   "not tracing's own changes both).")
@click.option("--rounds", type=int, help="Slices per stack and pass (full mode: 4; an ablation: 10).")
@click.option("--port-shift", type=int, default=0, envvar="POLYTRACE_BENCH_PORT_SHIFT", show_default=True,
              help="Added to every bench port (22080…, PostgreSQL 22432, MQTT 22883) and names its own run "
                   "directory, so two runs do not collide [env: POLYTRACE_BENCH_PORT_SHIFT].")
@click.option("--out", type=click.Path(path_type=Path), help="Results folder [default: bench/results].")
@click.option("--note", help="A line for summary.md, e.g. what else ran on the machine.")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path, exists=True, file_okay=False),
              metavar="RUN_A RUN_B", help="Instead: say whether two result folders agree, figure by figure "
                                          "(exit 1 when they do not).")
def bench(quick: bool, cold: bool, span_cost: bool, pairs: int | None, sustained_s: float | None, rate: float | None,
          otel_env: tuple[str, ...], levers: tuple[str, ...], untraced_levers: tuple[str, ...], rounds: int | None,
          port_shift: int, out: Path | None, note: str | None, compare: tuple[Path, Path] | None) -> None:
    """Measure tracing overhead, trace completeness, startup and memory on this machine (bench/README.md)."""
    from polytrace.bench import plan as bench_plan
    from polytrace.bench import runner

    if compare:
        from polytrace.bench import compare as bench_compare

        a, b = compare
        result = bench_compare.compare(bench_compare.load(a), bench_compare.load(b))
        click.echo(bench_compare.markdown(result, (a.name, b.name)))
        if not result.agree:
            disagree = ", ".join(result.disagree) or "nothing that could be judged"
            raise PolytraceError(f"{a.name} and {b.name} disagree on: {disagree}")
        return
    _unwind_on_sigterm()
    if cold:
        from polytrace.bench.cold import run_cold

        folder = run_cold(out or runner.DEFAULT_OUT, echo=_plain)
        click.echo((folder / "summary.md").read_text())
        console.print(f"results: {folder}")
        return
    if span_cost:
        from polytrace.bench.spancost.report import run_alone

        folder = run_alone(out or runner.DEFAULT_OUT, quick, echo=_plain)
        click.echo((folder / "summary.md").read_text())
        console.print(f"results: {folder}")
        return

    extra = dict(_parse_assignment(value) for value in otel_env)
    if levers or untraced_levers:
        from polytrace.bench import ablation

        parsed = [ablation.Lever.parse(text) for text in levers]
        parsed += [ablation.Lever.parse(text, tracing=False) for text in untraced_levers]
        plan = bench_plan.Plan.make(quick, rounds=rounds or (None if quick else ablation.ROUNDS),
                                    otel_env=extra or None, port_shift=port_shift)
        folder = ablation.run(plan, parsed, out or runner.DEFAULT_OUT, echo=_plain, note=note)
    else:
        plan = bench_plan.Plan.make(quick, pairs=pairs, rounds=rounds, sustained_s=sustained_s, rate=rate,
                                    otel_env=extra or None, port_shift=port_shift)
        folder = runner.run(plan, out or runner.DEFAULT_OUT, echo=_plain, note=note, console=console)
    click.echo((folder / "summary.md").read_text())
    console.print(f"results: {folder}")


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def flags(ctx: click.Context, as_json: bool) -> None:
    """List the failure flags: type, current value, default and the service that reads each."""
    if ctx.invoked_subcommand:
        return
    from polytrace import flags as failure_flags

    found, source = failure_flags.current(load_settings())
    if as_json:
        click.echo(json.dumps([f.__dict__ for f in found], indent=2))
        return
    table = Table(show_header=True, header_style="bold", caption=f"from {source}")
    for column in ("flag", "type", "value", "default", "service", "effect"):
        table.add_column(column)
    for f in found:
        value = failure_flags.display(f.value)
        changed = f.value != f.default
        table.add_row(f.name, f"{f.type} {f.range}".rstrip(), f"[bold red]{value}[/]" if changed else value,
                      failure_flags.display(f.default), f.service, f.description)
    Console(width=None if sys.stdout.isatty() else 160).print(table)


@flags.command("set")
@click.argument("name")
@click.argument("value")
def flags_set(name: str, value: str) -> None:
    """Set flag NAME to VALUE in the running stack's flags file (applies within 2 s, no restart)."""
    from polytrace import flags as failure_flags

    flag = failure_flags.set_flag(load_settings(), name, value)
    console.print(f"{flag.name} = {failure_flags.display(flag.value)} ({flag.service})")


@flags.command("reset")
@click.argument("name", required=False)
def flags_reset(name: str | None) -> None:
    """Put flag NAME (or every flag) back to its default."""
    from polytrace import flags as failure_flags

    for flag in failure_flags.reset(load_settings(), name):
        if name is None or flag.name == name:
            console.print(f"{flag.name} = {failure_flags.display(flag.value)}")


@cli.command()
@click.option("--quick", is_flag=True, help="One scenario, seconds per phase: proves the harness, not the figures.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="Only this scenario (repeatable): broker-stop, analytics-kill, otlp-stop, postgres-stop, "
                   "stock-freeze, pricing-latency, pricing-failure, analytics-failure.")
@click.option("--rate", type=float, help="Fixed open-loop rate in req/s (default: half the median untraced maximum "
                                         "of the newest full benchmark under bench/results).")
@click.option("--port-shift", type=int, envvar="POLYTRACE_RESILIENCE_PORT_SHIFT",
              help="Added to the bench's port block (default 300: catalog 22380, PostgreSQL 22732, MQTT 23183) "
                   "[env: POLYTRACE_RESILIENCE_PORT_SHIFT].")
@click.option("--out", type=click.Path(path_type=Path), help="Results folder [default: resilience/results].")
@click.option("--note", help="A line for summary.md, e.g. what else ran on the machine.")
def resilience(quick: bool, scenarios: tuple[str, ...], rate: float | None, port_shift: int | None,
               out: Path | None, note: str | None) -> None:
    """Break the stack under sustained load, one fault at a time, and count what survived (resilience/README.md)."""
    from polytrace.resilience import plan as resilience_plan
    from polytrace.resilience import runner

    plan = resilience_plan.Plan.make(quick, scenarios, rate=rate,
                                     port_shift=resilience_plan.PORT_SHIFT if port_shift is None else port_shift)
    _unwind_on_sigterm()
    folder = runner.run(plan, out or runner.DEFAULT_OUT, echo=_plain, note=note, console=console)
    click.echo((folder / "summary.md").read_text())
    console.print(f"results: {folder}")


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs/images"), show_default=True)
def screenshots(out: Path) -> None:
    """Click a product in the running stack's shop and save the page and its trace in the viewer as PNGs."""
    from polytrace import screenshots as shots

    engine = _engine()
    settings = engine.settings
    running = {s.name for s in engine.status() if s.healthy}
    if not {"gateway", "viewer"} <= running:
        raise PolytraceError("screenshots need a running stack with the gateway and the bundled viewer: `make up`")
    for path in shots.take(f"http://127.0.0.1:{settings.ports['gateway']}",
                           f"http://127.0.0.1:{settings.ports['viewer']}", settings.root / out):
        console.print(f"wrote {path}")


def _parse_assignment(value: str) -> tuple[str, str]:
    name, sep, content = value.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint="--otel")
    return name, content


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PolytraceError as exc:
        reporter.close()
        console.print(Text(f"polytrace: {exc}", style="red"))
        sys.exit(1)
    finally:
        reporter.close()
