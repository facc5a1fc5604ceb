"""What each node runs: FRR, OpenSSH and net-snmp — file contents and command lines.

Pure functions only; ``executor`` writes the files and starts the commands.
Every daemon is started with ``ip netns exec <ns> unshare --uts`` after setting the
node's hostname, so it sees the node's name (FRR issues 7583/12705).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from simulations.errors import LabError
from simulations.plan import NodePlan

FRR_LIB = Path("/usr/lib/frr")
FRR_ETC = Path("/etc/frr")
FRR_RUN = Path("/var/run/frr")
LOGIN_SHELL = Path("/usr/local/libexec/govnet/lab-vtysh-shell")
DEFAULT_SSH_USER = "govnet"
DEFAULT_SSH_PASSWORD = "govnet-lab"
DEFAULT_ANSIBLE_USER = "govnet-ansible"
ANSIBLE_SHELL = Path("/bin/bash")
ANSIBLE_NODES_DIR = "nodes"  # <lab-dir>/nodes/<node>/: the only place playbooks write files
SNMP_DEFAULTS = {
    "SNMP_V3_USER": "govnet",
    "SNMP_V3_AUTH_PASS": "govnet-lab-auth",
    "SNMP_V3_PRIV_PASS": "govnet-lab-priv",
}
FRR_DAEMONS = ("zebra", "ospfd", "bgpd", "staticd")
HOST_PASSWD = Path("/etc/passwd")
HOST_GROUP = Path("/etc/group")
HOST_SHADOW = Path("/etc/shadow")
ACCOUNTS_DIR = ".accounts"  # <lab-dir>/.accounts/: the lab's passwd, group, shadow
MONITOR_SECONDS = 2  # how often snmpd compares ifOperStatus for linkUp/linkDown
IQUERY_USER = "govnet-iquery"  # snmpd's own queries for the DisMan monitors
IF_TABLE = "1.3.6.1.2.1.2.2.1"  # IF-MIB ifEntry (numeric: the lab's snmpd loads no MIBs)
IF_OPER_STATUS = 8
IF_TRAP_COLUMNS = (1, 7, 8, 2)  # ifIndex, ifAdminStatus, ifOperStatus, ifDescr
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"

DEFAULT_DAEMONS = """\
# written by govnet lab: FRR pathspace instance for one lab node
zebra=yes
ospfd=yes
bgpd=yes
staticd=yes
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
ospfd_options="  -A 127.0.0.1"
bgpd_options="   -A 127.0.0.1"
staticd_options="-A 127.0.0.1"
watchfrr_options="--netns"
"""

LOGIN_SHELL_TEXT = """\
#!/bin/sh
# govnet lab login shell: the vtysh of the FRR instance named after this namespace.
ns="$(ip netns identify $$)"
if [ -z "$ns" ]; then echo "% not inside a lab namespace" >&2; exit 1; fi
if [ "$1" = "-c" ]; then exec /usr/bin/vtysh -N "$ns" -c "$2"; fi
exec /usr/bin/vtysh -N "$ns"
"""


def node_tmp(node: NodePlan) -> Path:
    """The node's own temporary directory (``TMPDIR`` of every login to it): a lab router
    shares the host's filesystem, so what it makes in a temporary directory (a confirm
    timer's snapshot) lives in the lab dir, and ``lab down`` removes it with the lab."""
    return node.node_dir / "tmp"


def exec_bin(node: NodePlan) -> Path:
    """The directory put first on PATH for ``govnet lab exec`` in this node."""
    return node.node_dir / "bin"


def vtysh_wrapper_text(node: NodePlan) -> str:
    """A plain ``vtysh`` inside ``govnet lab exec`` reaches this node's FRR instance, as
    ``docker exec … vtysh`` does in containerlab (FRR here is one pathspace per node)."""
    return (
        "#!/bin/sh\n"
        "# written by govnet lab: vtysh of this node's FRR (pathspace instance)\n"
        f'exec /usr/bin/vtysh -N {node.netns} "$@"\n'
    )


@dataclass(frozen=True)
class Credentials:
    """Lab logins: the vtysh user (network CLI) and the Ansible user (a bash shell, like the
    Linux side of SONiC/Cumulus). Both accept ``SSH_AUTHORIZED_KEY``."""

    ssh_user: str
    ssh_password: str
    ssh_authorized_key: str | None
    ansible_user: str = DEFAULT_ANSIBLE_USER
    ansible_password: str | None = None  # None: the same as ssh_password

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        src = os.environ if env is None else env
        return cls(
            src.get("SSH_USER") or DEFAULT_SSH_USER,
            src.get("SSH_PASSWORD") or DEFAULT_SSH_PASSWORD,
            src.get("SSH_AUTHORIZED_KEY") or None,
            src.get("ANSIBLE_USER") or DEFAULT_ANSIBLE_USER,
            src.get("ANSIBLE_PASSWORD") or None,
        )

    @property
    def ansible_secret(self) -> str:
        return self.ansible_password or self.ssh_password

    def __repr__(self) -> str:  # keep passwords out of tracebacks and logs
        return f"Credentials({self.ssh_user!r}, ansible={self.ansible_user!r})"


def uts_wrap(hostname: str, argv: list[str]) -> list[str]:
    """argv that sets ``hostname`` in a new UTS namespace, then execs ``argv``."""
    return [
        "unshare",
        "--uts",
        "sh",
        "-c",
        'hostname "$1"; shift; exec "$@"',
        "sh",
        hostname,
        *argv,
    ]


# --------------------------------------------------------------------------- FRR


def frr_etc(node: NodePlan) -> Path:
    return FRR_ETC / node.frr_instance


def frr_run(node: NodePlan) -> Path:
    return FRR_RUN / node.frr_instance


def frr_config_text(node: NodePlan) -> str:
    source = node.node.bind_source("/etc/frr/frr.conf") or node.node.startup_config
    if source is not None:
        return source.read_text(encoding="utf-8")
    return f"frr defaults traditional\nhostname {node.name}\nlog syslog informational\n"


def frr_daemons_text(node: NodePlan) -> str:
    source = node.node.bind_source("/etc/frr/daemons")
    text = source.read_text(encoding="utf-8") if source is not None else DEFAULT_DAEMONS
    if "watchfrr_options" not in text:
        text += '\nwatchfrr_options="--netns"\n'
    return text


def frr_files(node: NodePlan) -> dict[str, str]:
    """Files of ``/etc/frr/<instance>/``."""
    return {
        "frr.conf": frr_config_text(node),
        "daemons": frr_daemons_text(node),
        "vtysh.conf": "service integrated-vtysh-config\n",
    }


def frr_start_argv(node: NodePlan) -> list[str]:
    return uts_wrap(node.name, [str(FRR_LIB / "frrinit.sh"), "start", node.frr_instance])


def frr_enabled_daemons(daemons_text: str) -> list[str]:
    enabled = ["watchfrr"]
    for line in daemons_text.splitlines():
        key, _, value = line.strip().partition("=")
        daemon = key == "zebra" or (key.endswith("d") and key.isalnum())
        if daemon and value.strip().strip('"') == "yes" and key not in enabled:
            enabled.append(key)
    return enabled


# --------------------------------------------------------------------------- sshd


def sshd_paths(node: NodePlan) -> dict[str, Path]:
    d = node.node_dir
    return {
        "config": d / "sshd_config",
        "hostkey": d / "ssh_host_ed25519_key",
        "pid": d / "sshd.pid",
        "log": d / "sshd.log",
        "relay_pid": d / "sshd-logrelay.pid",
        "authorized_keys": d / "authorized_keys",
    }


def sshd_config_text(node: NodePlan, creds: Credentials) -> str:
    p = sshd_paths(node)
    lines = [
        "# written by govnet lab",
        f"ListenAddress {node.mgmt_ipv4}:22",
        f"HostKey {p['hostkey']}",
        f"PidFile {p['pid']}",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        "UsePAM no",
        "StrictModes no",
        f"AllowUsers {creds.ssh_user} {creds.ansible_user}",
        f"AuthorizedKeysFile {p['authorized_keys']}",
        "PrintMotd no",
        "PrintLastLog no",
        "UseDNS no",
        "MaxStartups 50:30:100",
        "LoginGraceTime 30",
        f"SetEnv {' '.join(f'{k}={v}' for k, v in login_env(node).items())}",
    ]
    return "\n".join(lines) + "\n"


def login_env(node: NodePlan) -> dict[str, str]:
    """The environment of the node's logins: its temp dir, and on a tunnel end where its
    strongSwan lives — ``swanctl`` then reads and loads the node's own swanctl.conf and
    talks to the node's charon, as on a router of its own (``/etc/swanctl`` there)."""
    env = {"TMPDIR": str(node_tmp(node))}
    if node.charon:
        paths = charon_paths(node)
        env |= {"STRONGSWAN_CONF": str(paths["strongswan"]), "SWANCTL_DIR": str(paths["dir"])}
    return env


def ansible_node_dir(node: NodePlan) -> Path:
    """``<lab-dir>/nodes/<node>/``, owned by the Ansible user: the node shares the host's
    filesystem, so this is the only place its playbooks may write files."""
    return lab_dir_of(node) / ANSIBLE_NODES_DIR / node.name


@dataclass(frozen=True)
class AccountFiles:
    """The lab-only copies the sshd mount namespace sees as /etc/passwd, group, shadow
    (written by :mod:`simulations.accounts`)."""

    passwd: Path
    group: Path
    shadow: Path

    @classmethod
    def of(cls, lab_dir: Path) -> AccountFiles:
        d = lab_dir / ACCOUNTS_DIR
        return cls(d / "passwd", d / "group", d / "shadow")

    def mounts(self) -> list[tuple[Path, Path]]:
        return [(self.passwd, HOST_PASSWD), (self.group, HOST_GROUP), (self.shadow, HOST_SHADOW)]


def lab_dir_of(node: NodePlan) -> Path:
    return node.node_dir.parent


def mount_wrap(files: AccountFiles, argv: list[str], overlay: Path) -> list[str]:
    """argv run in a new private mount namespace whose /etc is an overlay: the host's /etc
    below, the lab's passwd, group and shadow (copied into ``overlay``/upper) above. The
    host's files never change, and whatever the host does to its own (useradd replaces
    /etc/passwd by a rename, which would leave a bind mount of the file behind on the old
    inode), the lab's copies stay what its sshd sees."""
    script = (
        'set -e; O=$1; shift; rm -rf "$O"; mkdir -p "$O/upper" "$O/work"; '
        'while [ "$1" != -- ]; do cp -p "$1" "$O/upper/$(basename "$2")"; shift 2; done; '
        "shift; mount -t overlay govnet-lab-etc "
        '-o "lowerdir=/etc,upperdir=$O/upper,workdir=$O/work" /etc; exec "$@"'
    )
    pairs = [str(p) for src, dst in files.mounts() for p in (src, dst)]
    unshare = ["unshare", "--mount", "--propagation", "private"]
    return [*unshare, "sh", "-c", script, "sh", str(overlay), *pairs, "--", *argv]


def syslog_sink(node: NodePlan) -> str | None:
    """``SYSLOG_SINK`` (``HOST:PORT``) of the node's env: where its sshd's log goes."""
    return node.node.env.get("SYSLOG_SINK", "").strip() or None


def sshd_start_argv(node: NodePlan) -> list[str]:
    """sshd in its own mount namespace (lab accounts) and UTS namespace (hostname).

    With a ``SYSLOG_SINK``, sshd stays in the foreground and logs to stderr (``-D -e``),
    a pipe read by
    :mod:`simulations.logrelay`, which keeps the lines in sshd.log and sends each one as
    syslog over UDP to the sink, from the node's management address; else sshd writes
    sshd.log itself (``-E``)."""
    p = sshd_paths(node)
    sink = syslog_sink(node)
    log = ["-D", "-e"] if sink else ["-E", str(p["log"])]
    sshd = ["/usr/sbin/sshd", "-f", str(p["config"]), *log]
    files = AccountFiles.of(lab_dir_of(node))
    argv = mount_wrap(files, uts_wrap(node.name, sshd), node.node_dir / ".etc-overlay")
    if sink is None:
        return argv
    relay = [sys.executable, "-m", "simulations.logrelay", "--sink", sink]
    relay += ["--source", str(node.mgmt_ipv4)] if node.mgmt_ipv4 else []
    relay += ["--hostname", node.name, "--log", str(p["log"]), "--pidfile", str(p["relay_pid"])]
    return [*relay, "--", *argv]


# --------------------------------------------------------------------------- snmpd


def snmpd_paths(node: NodePlan) -> dict[str, Path]:
    d = node.node_dir
    return {
        "config": d / "snmpd.conf",
        "pid": d / "snmpd.pid",
        "log": d / "snmpd.log",
        "persist": d / "snmp",
        "relay_pid": d / "snmpd-logrelay.pid",
    }


def snmp_settings(node: NodePlan) -> dict[str, str]:
    env = node.node.env
    out = {k: env.get(k) or v for k, v in SNMP_DEFAULTS.items()}
    if env.get("SNMP_COMMUNITY"):
        out["SNMP_COMMUNITY"] = env["SNMP_COMMUNITY"]
    return out


def snmpd_config_text(node: NodePlan) -> str:
    s = snmp_settings(node)
    user = s["SNMP_V3_USER"]
    lines = [
        "# written by govnet lab",
        f"createUser {user} SHA {_q(s['SNMP_V3_AUTH_PASS'])} AES {_q(s['SNMP_V3_PRIV_PASS'])}",
        f"rouser {user} priv",
        f"sysName {node.name}",
        f"sysLocation govnet lab {node.netns}",
        "sysContact govnet lab",
        "sysServices 76",
    ]
    if "SNMP_COMMUNITY" in s:
        lines.append(f"rocommunity {s['SNMP_COMMUNITY']} default")
    lines += snmpd_notification_lines(node)
    return "\n".join(lines) + "\n"


def snmpd_notification_lines(node: NodePlan) -> list[str]:
    """Notifications to the NMS when the node's env names a sink (``SNMP_TRAP_SINK``,
    ``HOST:PORT``): SNMPv3 authPriv informs (acknowledged and retried, and the receiver
    needs no engine ID of ours) as the node's own v3 user — coldStart at start,
    authenticationFailure for every request with a wrong community or user, and
    linkUp/linkDown from the DisMan event MIB watching ifOperStatus every
    ``SNMP_MONITOR_SECONDS`` (default 2). The monitor's internal queries run as a user of
    their own that may read only the interface table (net-snmp's internal queries are
    authNoPriv, which the polling user's ``rouser … priv`` refuses — each refusal would
    itself be an authenticationFailure). ``SNMP_TRAP_SOURCE`` sets the source address
    (net-snmp ``clientaddr``): the address the NMS knows the node by."""
    env = node.node.env
    sink = env.get("SNMP_TRAP_SINK", "").strip()
    if not sink:
        return []
    s = snmp_settings(node)
    user, auth, priv = s["SNMP_V3_USER"], _q(s["SNMP_V3_AUTH_PASS"]), _q(s["SNMP_V3_PRIV_PASS"])
    seconds = env.get("SNMP_MONITOR_SECONDS", "").strip() or str(MONITOR_SECONDS)
    if not seconds.isdigit() or not 1 <= int(seconds) <= 3600:
        raise LabError(f"node {node.name}: SNMP_MONITOR_SECONDS {seconds!r}: 1-3600 seconds")
    lines = [
        f"createUser {IQUERY_USER} SHA {auth}",
        f"rouser {IQUERY_USER} auth {IF_TABLE}",
        f"iquerySecName {IQUERY_USER}",
        "authtrapenable 1",
    ]
    source = env.get("SNMP_TRAP_SOURCE", "").strip()
    if source:
        # a library (snmp.conf) setting, read before the session it applies to is made:
        # a plain `clientaddr` in snmpd.conf, or one after trapsess, is ignored (measured)
        lines.append(f"[snmp] clientaddr {source}")
    engine = env.get("SNMP_TRAP_ENGINE_ID", "").strip().lower()
    if engine and not (10 <= len(engine) <= 64 and all(c in "0123456789abcdef" for c in engine)):
        raise LabError(f"node {node.name}: SNMP_TRAP_ENGINE_ID {engine!r}: 5-32 octets in hex")
    # the receiver's engine ID, when known, spares snmpd its synchronous discovery of it
    # (no request served until answered or timed out: 6 s at start and at shutdown)
    known = f" -e 0x{engine}" if engine else ""
    lines.append(
        f"trapsess -Ci -r 2 -t 2 -v 3{known} -u {user} -l authPriv -a SHA -A {auth} -x AES"
        f" -X {priv} udp:{sink}"
    )
    objects = " ".join(f"{IF_TABLE}.{column}" for column in IF_TRAP_COLUMNS)
    for name, oid, test in (
        ("govnetLinkUp", LINK_UP, "!= 2"),
        ("govnetLinkDown", LINK_DOWN, "== 2"),
    ):
        lines.append(f"notificationEvent {name} {oid} {objects}")
        lines.append(f'monitor -r {seconds} -e {name} "{name}" {IF_TABLE}.{IF_OPER_STATUS} {test}')
    return lines


def _q(value: str) -> str:
    return '"' + value.replace('"', "") + '"'


SNMPD_DEBUG_TOKENS = "sess_process_packet,trap"  # what the relay pairs (logrelay docstring)


def snmpd_start_argv(node: NodePlan) -> list[str]:
    """snmpd listens on 0.0.0.0 inside the namespace: it answers on every address of the
    namespace and replies from the address it was asked on (IP_PKTINFO, measured).

    With a ``SYSLOG_SINK``, snmpd stays in the foreground and logs to stderr (``-f -Le``,
    with the debug tokens :data:`SNMPD_DEBUG_TOKENS`), a pipe read by
    :mod:`simulations.logrelay` ``--filter snmpd``: the agent's lines stay in snmpd.log,
    and each authenticationFailure goes to the sink as one line naming the address the
    failed request came from. Else snmpd writes snmpd.log itself (``-Lf``)."""
    p = snmpd_paths(node)
    sink = syslog_sink(node)
    log = ["-f", "-Le", f"-D{SNMPD_DEBUG_TOKENS}"] if sink else ["-Lf", str(p["log"])]
    cmd = [
        "/usr/sbin/snmpd",
        "-C",
        "-c",
        str(p["config"]),
        "-p",
        str(p["pid"]),
        *log,
        "-M",
        "/nonexistent",
        "-m",
        "",
        "udp:0.0.0.0:161",
    ]
    argv = uts_wrap(node.name, cmd)
    if sink is None:
        return argv
    relay = [sys.executable, "-m", "simulations.logrelay", "--sink", sink, "--filter", "snmpd"]
    relay += ["--source", str(node.mgmt_ipv4)] if node.mgmt_ipv4 else []
    relay += ["--hostname", node.name, "--app", "snmpd", "--log", str(p["log"])]
    relay += ["--pidfile", str(p["relay_pid"])]
    return [*relay, "--", *argv]


def snmpd_env(node: NodePlan) -> dict[str, str]:
    return {"SNMP_PERSISTENT_DIR": str(snmpd_paths(node)["persist"]), "MIBS": ""}


def exec_argv(command: str) -> list[str]:
    return ["sh", "-c", command]


def describe(argv: list[str]) -> str:
    return shlex.join(argv)


# --------------------------------------------------------------------------- strongSwan

CHARON = Path("/usr/sbin/charon-systemd")
SWANCTL = Path("/usr/sbin/swanctl")
IPSEC_PSK_PREFIX = "IPSEC_PSK_"
# swanctl's credential folders (beside swanctl.conf); empty, made so it does not complain.
SWANCTL_DIRS = (
    "x509",
    "x509ca",
    "x509aa",
    "x509ocsp",
    "x509ac",
    "x509crl",
    "pubkey",
    "private",
    "rsa",
    "ecdsa",
    "bliss",
    "pkcs8",
    "pkcs12",
)
CHARON_PLUGINS = (
    "random nonce aes sha1 sha2 hmac gmp kdf pem pkcs1 x509 pubkey"
    " kernel-libipsec kernel-netlink socket-default vici counters"
)


CHARON_GROUP = "frrvty"
"""The group of the node's VICI socket and swanctl.conf: the lab's logins are in it (as
for FRR's vtysh), so ``link apply`` can load the node's IPsec connections; the keys stay
root's."""


def charon_paths(node: NodePlan) -> dict[str, Path]:
    """Everything of the node's charon lives in ``<lab-dir>/<node>/ipsec/``: never the
    host's /etc/swanctl, /etc/strongswan.conf or /run/charon.*."""
    d = node.node_dir / "ipsec"
    return {
        "dir": d,
        "strongswan": d / "strongswan.conf",
        "swanctl": d / "swanctl.conf",
        "vici": d / "charon.vici",
        "log": d / "charon.log",
        "out": d / "charon.out",
        "pid": d / "charon.pid",
    }


def vici_uri(node: NodePlan) -> str:
    return f"unix://{charon_paths(node)['vici']}"


def strongswan_conf_text(node: NodePlan) -> str:
    """charon-systemd's settings: only the plugins it needs (IPsec in user space through
    kernel-libipsec: this kernel has no ESP), its VICI socket and log in the lab dir, and
    short retransmits so a dead peer is noticed in seconds, not minutes."""
    p = charon_paths(node)
    return f"""# written by govnet lab: charon of {node.name}
charon-systemd {{
  load_modular = no
  load = {CHARON_PLUGINS}
  install_virtual_ip = no
  group = {CHARON_GROUP}
  retransmit_tries = 2
  retransmit_timeout = 1.0
  retransmit_base = 1.4
  plugins {{
    vici {{
      socket = unix://{p["vici"]}
    }}
  }}
  journal {{
    default = -1
  }}
  filelog {{
    lab {{
      path = {p["log"]}
      time_format = %Y-%m-%dT%H:%M:%S
      ike_name = yes
      flush_line = yes
      default = 1
    }}
  }}
}}
swanctl {{
  load = pem pkcs1 x509 pubkey
  socket = unix://{p["vici"]}
}}
"""


def ipsec_psk_files(node: NodePlan) -> dict[str, str]:
    """``psk-<connection>.conf`` (included by the rendered swanctl.conf) for each tunnel
    key in the node's environment, ``IPSEC_PSK_<CONNECTION>``."""
    out: dict[str, str] = {}
    for key, value in sorted(node.node.env.items()):
        if not key.startswith(IPSEC_PSK_PREFIX) or not value:
            continue
        name = key.removeprefix(IPSEC_PSK_PREFIX).lower().replace("_", "-")
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        out[f"psk-{name}.conf"] = f'secret = "{escaped}"\n'
    return out


def charon_start_argv(node: NodePlan) -> list[str]:
    """charon-systemd stays in the foreground: a detached shell writes its own PID (the
    daemon's, after exec) and execs it with output to a log."""
    p = charon_paths(node)
    script = 'echo $$ > "$1"; exec "$2" >>"$3" 2>&1 </dev/null'
    return ["setsid", "-f", "sh", "-c", script, "sh", str(p["pid"]), str(CHARON), str(p["out"])]


def charon_env(node: NodePlan) -> dict[str, str]:
    return {"STRONGSWAN_CONF": str(charon_paths(node)["strongswan"])}


def swanctl_argv(node: NodePlan, *args: str) -> list[str]:
    return [str(SWANCTL), *args, "--uri", vici_uri(node)]


def is_initiator(swanctl_conf: Path, connection: str) -> bool:
    """Whether the rendered ``swanctl.conf`` starts ``connection`` itself (the mission
    end: ``start_action = start``)."""
    text = swanctl_conf.read_text(encoding="utf-8")
    at = text.find(f"  {connection} {{")
    if at < 0:
        return False
    block = text[at : text.find("\n  }\n", at)]
    return "start_action = start" in block
