"""`govnet soc …`: Prometheus + Alertmanager with the govnet rules, and the SOC console."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from controller.cli import output
from controller.cli.provisioning import lab_nodes
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.soc.settings import SocSettings, check_port
from controller.soc.stack import ComponentState, SocStack, read_state, state_ports

app = typer.Typer(
    help="SOC: Prometheus and Alertmanager with govnet's alert rules, and the web console.",
    no_args_is_help=True,
)
user_app = typer.Typer(help="SOC console users (stored hashed under the state directory).")
app.add_typer(user_app, name="user", no_args_is_help=True)

StateOpt = Annotated[
    Path, typer.Option("--state-dir", help="State directory (the SOC keeps <state-dir>/soc/).")
]
DEFAULT_STATE = Path(".govnet")


def _print_states(title: str, states: list[ComponentState], json_out: bool) -> None:
    if json_out:
        output.print_json([s.as_dict() for s in states])
        return
    output.console.print(
        output.table(
            title,
            ["component", "state", "pid", "url", "ready"],
            [
                (
                    s.name,
                    s.state,
                    s.pid or "-",
                    s.url or "-",
                    "-" if s.ready is None else ("yes" if s.ready else "no"),
                )
                for s in states
            ],
        )
    )


@app.command()
def up(
    ctx: typer.Context,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    probe: Annotated[
        list[str] | None,
        typer.Option("--probe", help="A probe shard to scrape, HOST:PORT (repeat for shards)."),
    ] = None,
    probes_file: Annotated[
        Path | None, typer.Option("--probes-file", help="File of probe shards, HOST:PORT per line.")
    ] = None,
    drift_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--drift-file",
            help="A `govnet config drift --prom-file` output to serve (default: every *.prom "
            "in <state-dir>/soc/textfile/).",
        ),
    ] = None,
    prometheus_port: Annotated[int, typer.Option(help="Prometheus port on 127.0.0.1.")] = 9090,
    alertmanager_port: Annotated[int, typer.Option(help="Alertmanager port on 127.0.0.1.")] = 9093,
    textfile_port: Annotated[int, typer.Option(help="Textfile exporter port on 127.0.0.1.")] = 9501,
    scrape_interval: Annotated[int, typer.Option(help="Seconds between scrapes.")] = 10,
    eval_interval: Annotated[int, typer.Option(help="Seconds between rule evaluations.")] = 10,
    events_interval: Annotated[
        int,
        typer.Option(
            help="Seconds between scrapes of the probes' trap and syslog counters"
            " (/metrics/events; never less often than --scrape-interval)."
        ),
    ] = 2,
    retention: Annotated[str, typer.Option(help="Keep samples this long (e.g. 15d).")] = "15d",
    retention_size: Annotated[
        str | None, typer.Option(help="And at most this much disk (e.g. 5GB).")
    ] = None,
    alert_retention: Annotated[
        str, typer.Option(help="Keep silences and notification logs this long.")
    ] = "120h",
    alertmanagers: Annotated[
        int,
        typer.Option(
            help="Alertmanagers in a gossip cluster on 127.0.0.1 (web on --alertmanager-port"
            " and the ports after it, gossip on 9094…); each alert group is notified once."
        ),
    ] = 1,
    peer_timeout: Annotated[
        str, typer.Option(help="How long a peer waits for the one before it to notify.")
    ] = "15s",
    collectors: Annotated[
        bool,
        typer.Option(
            "--collectors",
            help="Start the inventory's regional collectors (probe shard + Prometheus agent"
            " each) and make Prometheus their central store (remote-write receiver,"
            " collectors.store.retention).",
        ),
    ] = False,
    lab: Annotated[
        Path | None,
        typer.Option(
            "--lab",
            help="With --collectors: run the store and each collector in its node's namespace"
            " of this lab (the console still reaches Prometheus on 127.0.0.1); the collector"
            " that pings the missions' tunnels exports their IPsec state from the lab's"
            " charons.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start Prometheus, Alertmanager and the textfile exporter on 127.0.0.1 (or reload
    them if they run and their configuration changed). Safe to run twice. With
    --alertmanagers 2 or 3, Prometheus sends every alert to each of them."""
    if probes_file is not None and not probes_file.is_file():
        raise UsageError(f"--probes-file {probes_file}: no such file")
    if lab is not None and not collectors:
        raise UsageError("--lab goes with --collectors")
    lab_name = lab_nodes(lab)[0] if lab is not None else None
    settings = SocSettings(
        state_dir=state_dir,
        probes=tuple(probe or ()),
        probes_file=probes_file,
        drift_files=tuple(drift_file or ()),
        prometheus_port=prometheus_port,
        alertmanager_port=alertmanager_port,
        textfile_port=textfile_port,
        scrape_interval=scrape_interval,
        evaluation_interval=eval_interval,
        events_interval=events_interval,
        retention=retention,
        retention_size=retention_size,
        alert_retention=alert_retention,
        alertmanagers=alertmanagers,
        peer_timeout=peer_timeout,
        collectors=collectors,
        lab=lab_name,
    )
    source = inventory_path(ctx, inventory)
    inv = load_inventory(source)
    if collectors and inv.collectors is None:
        raise UsageError(f"--collectors: {source} has no collectors section")
    if lab is not None and inv.missions:
        from simulations.lab import Lab

        # the lab's charons, where `lab up` put them: their collector exports the tunnels
        settings = dataclasses.replace(settings, ipsec_dir=Lab(lab).plan.lab_dir)
    with output.err_console.status("soc up") as status:
        stack = SocStack(settings, inv, source)
        states = stack.up(lambda step: status.update(f"soc up: {step}"))
    _print_states("SOC", states, json_out)


def _existing(state_dir: Path) -> SocStack:
    ports = state_ports(state_dir)
    return SocStack(SocSettings(state_dir=state_dir, **ports))  # type: ignore[arg-type]


@app.command()
def down(state_dir: StateOpt = DEFAULT_STATE, json_out: JsonOpt = False) -> None:
    """Stop what `soc up` started (only the PIDs in its pid files). Keeps the data."""
    _print_states("SOC", _existing(state_dir).down(), json_out)


@app.command()
def status(state_dir: StateOpt = DEFAULT_STATE, json_out: JsonOpt = False) -> None:
    """Which components run, their PIDs and URLs, and whether they answer."""
    states = _existing(state_dir).status()
    _print_states("SOC", states, json_out)
    if not all(s.state == "running" and s.ready for s in states):
        raise typer.Exit(3)


# ------------------------------------------------------------------------------ serve


def _loopback(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--host {host!r}: an IP address such as 127.0.0.1") from None
    if not address.is_loopback:
        raise UsageError(
            f"--host {host}: the console listens on loopback only; publish it through a TLS "
            "reverse proxy (see controller/web/README.md)"
        )
    return host


def _port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise UsageError(f"{host}:{port}: cannot listen: {exc.strerror or exc}") from None


def _provision_lab(topology: Path | None) -> Path | None:
    """The lab the console provisions in; its secret defaults for this process."""
    if topology is None:
        return None
    from controller.cli.provisioning import lab_name

    if not topology.is_file():
        raise UsageError(f"--lab {topology}: no such topology file")
    lab_name(topology)
    return topology


@app.command()
def serve(
    ctx: typer.Context,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    prometheus_url: Annotated[
        str | None, typer.Option(help="Prometheus (default: what `soc up` started).")
    ] = None,
    alertmanager_url: Annotated[
        str | None, typer.Option(help="Alertmanager (default: what `soc up` started).")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Serve https with this certificate.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="… and this private key.")] = None,
    secure_cookies: Annotated[
        bool,
        typer.Option(help="Mark the session cookie Secure (behind a TLS reverse proxy)."),
    ] = False,
    session_idle: Annotated[
        int, typer.Option(help="Sign out after this many minutes without a request.")
    ] = 30,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            metavar="ADDR",
            help="Address of a TLS reverse proxy in front of the console (repeatable): its "
            "X-Forwarded-For names the client for sign-in limits; from any other peer the "
            "header is ignored.",
        ),
    ] = None,
    lab: Annotated[
        Path | None,
        typer.Option(
            "--lab",
            help="Engineers may provision and decommission hosting from the console, in "
            "this running lab (its topology file).",
        ),
    ] = None,
    production: Annotated[
        bool,
        typer.Option(
            "--production",
            help="Engineers may provision and decommission hosting from the console on the "
            "real network. Without --lab or --production the console does not provision.",
        ),
    ] = False,
    trust_on_first_use: Annotated[
        bool,
        typer.Option(
            "--trust-on-first-use",
            help="With --lab/--production: pin a gateway's unknown SSH host key on first use.",
        ),
    ] = False,
) -> None:
    """Run the SOC web console (Ctrl-C stops it). Sign-in required: see `soc user add`.

    Sessions are kept in <state-dir>/soc/sessions.db, so a restart keeps people signed in.
    """
    import uvicorn

    from controller.web import WebSettings, create_app

    _loopback(host)
    check_port(port, "--port")
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise UsageError(f"{path}: no such file")
    known = read_state(state_dir)
    settings = WebSettings(
        state_dir=state_dir,
        inventory=inventory_path(ctx, inventory),
        prometheus_url=prometheus_url or str(known.get("prometheus_url", "http://127.0.0.1:9090")),
        alertmanager_url=alertmanager_url
        or str(known.get("alertmanager_url", "http://127.0.0.1:9093")),
        secure_cookies=secure_cookies or tls_cert is not None,
        session_idle_seconds=session_idle * 60,
        trusted_proxies=tuple(trusted_proxy or ()),
        provision_lab=_provision_lab(lab),
        provision_production=production,
        provision_tofu=trust_on_first_use,
    )
    web = create_app(settings)
    if not web.state.console.users.list():
        output.err_console.print(
            "no console user yet: create one with `govnet soc user add NAME --role engineer`"
        )
    _port_free(host, port)
    scheme = "https" if tls_cert else "http"
    output.err_console.print(
        f"SOC console on {scheme}://{host}:{port}/ (Prometheus {settings.prometheus_url}, "
        f"Alertmanager {settings.alertmanager_url})"
    )
    uvicorn.run(
        web,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )


# ------------------------------------------------------------------------------ users


class RoleChoice(StrEnum):
    soc = "soc"
    engineer = "engineer"
    focal = "focal"


class LanguageChoice(StrEnum):
    KM = "km"
    EN = "en"


PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--password-file", help="Read the password from the first line of this file (else: prompt)."
    ),
]


def _password(password_file: Path | None) -> str:
    if password_file is None:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"--password-file {password_file}: {exc.strerror}") from exc
    if not lines or not lines[0]:
        raise UsageError(f"--password-file {password_file}: the first line is empty")
    return lines[0]


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name (lower case).")],
    role: Annotated[RoleChoice, typer.Option("--role", help="soc, engineer or focal.")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="A focal user's ministry code (e.g. MEF).")
    ] = None,
    password_file: PasswordFileOpt = None,
    language: Annotated[
        LanguageChoice | None,
        typer.Option(
            "--language",
            help="km (Khmer) or en: the console's language for this user (default: the browser's).",
        ),
    ] = None,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
) -> None:
    """Add a console user; the password is stored as a salted scrypt hash."""
    from controller.web.users import UserStore, validate_role, validate_username

    validate_username(name)
    validate_role(role.value, tenant)
    if tenant:
        inv = load_inventory(inventory_path(ctx, inventory))
        codes = sorted(t.code for t in inv.tenants)
        if tenant not in codes:
            raise UsageError(
                f"--tenant {tenant!r}: not in the inventory ({', '.join(codes[:12])}…)"
            )
    store = UserStore(state_dir / "soc" / "users.json")
    if store.get(name) is not None:
        raise UsageError(f"user {name!r} exists (use `govnet soc user passwd {name}`)")
    user = store.add(name, role.value, tenant, _password(password_file))
    if language is not None:
        from controller.web.profiles import ProfileStore

        ProfileStore(state_dir / "soc" / "profiles.db").set_language(name, language.value)
    output.console.print(
        f"added {user.username} ({user.role}{', ' + user.tenant if user.tenant else ''})"
    )


@user_app.command("list")
def user_list(state_dir: StateOpt = DEFAULT_STATE, json_out: JsonOpt = False) -> None:
    """List console users (never their password hashes)."""
    from controller.web.users import UserStore

    users = UserStore(state_dir / "soc" / "users.json").list()
    profiles = state_dir / "soc" / "profiles.db"
    if profiles.exists():
        from controller.web.profiles import ProfileStore

        store = ProfileStore(profiles)
        languages = {u.username: store.language(u.username) for u in users}
    else:
        languages = {}
    if json_out:
        output.print_json(
            [
                {
                    "username": u.username,
                    "role": u.role,
                    "tenant": u.tenant,
                    "language": languages.get(u.username),
                }
                for u in users
            ]
        )
        return
    output.console.print(
        output.table(
            f"{len(users)} users",
            ["user", "role", "tenant", "language"],
            [
                (u.username, u.role, u.tenant or "-", languages.get(u.username) or "browser's")
                for u in users
            ],
        )
    )


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_file: PasswordFileOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
) -> None:
    """Set a user's password (prompted, or from --password-file)."""
    from controller.web.users import UserStore

    store = UserStore(state_dir / "soc" / "users.json")
    if store.get(name) is None:
        raise UsageError(f"no user {name[:40]!r}")
    store.set_password(name, _password(password_file))
    output.console.print(f"password of {name} changed (their open sessions end)")


@user_app.command("remove")
def user_remove(
    name: Annotated[str, typer.Argument(help="User name.")],
    state_dir: StateOpt = DEFAULT_STATE,
) -> None:
    """Remove a user (their sessions end at their next request)."""
    from controller.web.profiles import ProfileStore
    from controller.web.users import UserStore

    UserStore(state_dir / "soc" / "users.json").remove(name)
    ProfileStore(state_dir / "soc" / "profiles.db").forget(name)
    output.console.print(f"removed {name}")


@user_app.command("language")
def user_language(
    name: Annotated[str, typer.Argument(help="User name.")],
    language: Annotated[LanguageChoice, typer.Argument(help="km (Khmer) or en (English).")],
    state_dir: StateOpt = DEFAULT_STATE,
) -> None:
    """Set the language a user reads the console in (they can switch on any page too)."""
    from controller.web.profiles import ProfileStore
    from controller.web.users import UserStore

    if UserStore(state_dir / "soc" / "users.json").get(name) is None:
        raise UsageError(f"no user {name[:40]!r}")
    ProfileStore(state_dir / "soc" / "profiles.db").set_language(name, language.value)
    output.console.print(f"{name} reads the console in {language.value}")
