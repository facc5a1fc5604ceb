"""Console settings: where the state is, which back ends, cookie and session policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from controller.errors import UsageError
from controller.web.clients import parse_proxies
from controller.web.users import SCRYPT_N

_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$")


@dataclass(frozen=True)
class WebSettings:
    state_dir: Path = Path(".govnet")
    inventory: Path = Path("inventory/cambodia")
    prometheus_url: str = "http://127.0.0.1:9090"
    alertmanager_url: str = "http://127.0.0.1:9093"
    # Set when the console is reached over https (its own TLS, or a TLS reverse proxy):
    # the session cookie then gets the Secure flag and responses an HSTS header.
    secure_cookies: bool = False
    session_idle_seconds: float = 30 * 60
    session_max_seconds: float = 12 * 3600
    max_sessions: int = 10_000  # anonymous sessions in all (signed-in ones are never evicted)
    anonymous_sessions_per_client: int = 20
    sessions_per_user: int = 5  # one more sign-in signs that user's oldest session out
    login_max_failures: int = 5  # free attempts per user (× 4 per client), then 1 s, 2 s, 4 s…
    login_window_seconds: float = 300
    # Addresses of TLS reverse proxies whose X-Forwarded-For names the client.
    trusted_proxies: tuple[str, ...] = ()
    backend_timeout: float = 5.0
    scrypt_n: int = SCRYPT_N
    # Where engineers' provision/decommission from the console reaches: a running lab
    # (its topology file), or the real network (production); neither: not offered.
    provision_lab: Path | None = None
    provision_production: bool = False
    provision_tofu: bool = False  # pin a gateway's unknown SSH host key on first use

    @property
    def provisioning(self) -> str:
        """'lab', 'production' or '' (the console does not provision)."""
        if self.provision_lab is not None:
            return "lab"
        return "production" if self.provision_production else ""

    def __post_init__(self) -> None:
        for name, url in (
            ("--prometheus-url", self.prometheus_url),
            ("--alertmanager-url", self.alertmanager_url),
        ):
            if not _URL.match(url):
                raise UsageError(f"{name} {url!r}: expected http://HOST:PORT")
        object.__setattr__(self, "trusted_proxies", parse_proxies(list(self.trusted_proxies)))
        if self.provision_lab is not None and self.provision_production:
            raise UsageError("--lab and --production exclude each other")
        if not 60 <= self.session_idle_seconds <= self.session_max_seconds <= 7 * 86400:
            raise UsageError("session lifetimes: 60 s ≤ idle ≤ absolute ≤ 7 days")

    @property
    def users_file(self) -> Path:
        return self.state_dir / "soc" / "users.json"

    @property
    def secret_file(self) -> Path:
        return self.state_dir / "soc" / "web-secret.key"

    @property
    def sessions_file(self) -> Path:
        return self.state_dir / "soc" / "sessions.db"

    @property
    def profiles_file(self) -> Path:
        return self.state_dir / "soc" / "profiles.db"
