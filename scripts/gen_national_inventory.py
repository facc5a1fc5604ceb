"""Generate the national inventory (inventory/cambodia) — or a scaled synthetic copy.

Provinces, ISO 3166-2:KH codes and commune counts per province are real-world
plausible (1,652 communes/sangkats in all); commune *names* are generated from
Khmer place-name syllables. Tenants come from ``tenants.yaml`` (the policy's
annex), which this script reads and never writes.

    python scripts/gen_national_inventory.py inventory/cambodia          # the shipped data
    python scripts/gen_national_inventory.py /tmp/x10 --scale 10         # 16,520 communes (bench)
"""

from __future__ import annotations

import argparse
import random
import shutil
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import yaml

# Missions abroad: a representative set of Cambodia's embassies and permanent missions
# (code = ISO 3166-1 country + UN/LOCODE city). The seed documents do not list them; this
# is a plausible sample, not the official list.
MISSIONS: list[tuple[str, str, str]] = [
    ("TH-BKK", "Royal Embassy of Cambodia in Bangkok", "Bangkok"),
    ("VN-HAN", "Royal Embassy of Cambodia in Hanoi", "Hanoi"),
    ("LA-VTE", "Royal Embassy of Cambodia in Vientiane", "Vientiane"),
    ("MY-KUL", "Royal Embassy of Cambodia in Kuala Lumpur", "Kuala Lumpur"),
    ("SG-SIN", "Royal Embassy of Cambodia in Singapore", "Singapore"),
    ("CN-BJS", "Royal Embassy of Cambodia in Beijing", "Beijing"),
    ("JP-TYO", "Royal Embassy of Cambodia in Tokyo", "Tokyo"),
    ("KR-SEL", "Royal Embassy of Cambodia in Seoul", "Seoul"),
    ("IN-DEL", "Royal Embassy of Cambodia in New Delhi", "New Delhi"),
    ("AU-CBR", "Royal Embassy of Cambodia in Canberra", "Canberra"),
    ("FR-PAR", "Royal Embassy of Cambodia in Paris", "Paris"),
    ("GB-LON", "Royal Embassy of Cambodia in London", "London"),
    ("DE-BER", "Royal Embassy of Cambodia in Berlin", "Berlin"),
    ("BE-BRU", "Royal Embassy of Cambodia in Brussels", "Brussels"),
    ("RU-MOW", "Royal Embassy of Cambodia in Moscow", "Moscow"),
    ("US-WAS", "Royal Embassy of Cambodia in Washington", "Washington"),
    ("US-NYC", "Permanent Mission of Cambodia to the United Nations", "New York"),
    ("CH-GVA", "Permanent Mission of Cambodia to the United Nations Office", "Geneva"),
]

# (number, name, Khmer name, communes/sangkats); sums to 1,652. The Khmer names are the
# official ones (ខេត្ត… for a province, រាជធានី… for the capital).
PROVINCES: list[tuple[int, str, str, int]] = [
    (1, "Banteay Meanchey", "ខេត្តបន្ទាយមានជ័យ", 67),
    (2, "Battambang", "ខេត្តបាត់ដំបង", 102),
    (3, "Kampong Cham", "ខេត្តកំពង់ចាម", 109),
    (4, "Kampong Chhnang", "ខេត្តកំពង់ឆ្នាំង", 69),
    (5, "Kampong Speu", "ខេត្តកំពង់ស្ពឺ", 89),
    (6, "Kampong Thom", "ខេត្តកំពង់ធំ", 81),
    (7, "Kampot", "ខេត្តកំពត", 92),
    (8, "Kandal", "ខេត្តកណ្ដាល", 127),
    (9, "Koh Kong", "ខេត្តកោះកុង", 33),
    (10, "Kratie", "ខេត្តក្រចេះ", 48),
    (11, "Mondulkiri", "ខេត្តមណ្ឌលគិរី", 21),
    (12, "Phnom Penh", "រាជធានីភ្នំពេញ", 105),
    (13, "Preah Vihear", "ខេត្តព្រះវិហារ", 49),
    (14, "Prey Veng", "ខេត្តព្រៃវែង", 116),
    (15, "Pursat", "ខេត្តពោធិ៍សាត់", 49),
    (16, "Ratanakiri", "ខេត្តរតនគិរី", 50),
    (17, "Siem Reap", "ខេត្តសៀមរាប", 100),
    (18, "Preah Sihanouk", "ខេត្តព្រះសីហនុ", 28),
    (19, "Stung Treng", "ខេត្តស្ទឹងត្រែង", 34),
    (20, "Svay Rieng", "ខេត្តស្វាយរៀង", 80),
    (21, "Takeo", "ខេត្តតាកែវ", 100),
    (22, "Oddar Meanchey", "ខេត្តឧត្ដរមានជ័យ", 26),
    (23, "Kep", "ខេត្តកែប", 5),
    (24, "Pailin", "ខេត្តប៉ៃលិន", 8),
    (25, "Tbong Khmum", "ខេត្តត្បូងឃ្មុំ", 64),
]
assert sum(count for _, _, _, count in PROVINCES) == 1652

# Commune names are built from two place-name words (romanised, and in Khmer script: the
# standard spelling of each word), so every generated commune has its Khmer name too.
SYLLABLES_A = [
    ("Prek", "ព្រែក"),
    ("Boeng", "បឹង"),
    ("Kampong", "កំពង់"),
    ("Chrey", "ជ្រៃ"),
    ("Tuol", "ទួល"),
    ("Svay", "ស្វាយ"),
    ("Kouk", "គោក"),
    ("Phsar", "ផ្សារ"),
    ("Ta", "តា"),
    ("Khnar", "ខ្នារ"),
    ("Ampil", "អំពិល"),
    ("Chambak", "ចំបក់"),
    ("Roka", "រកា"),
    ("Sre", "ស្រែ"),
    ("Trapeang", "ត្រពាំង"),
    ("Prey", "ព្រៃ"),
    ("Kbal", "ក្បាល"),
    ("Chong", "ចុង"),
    ("Anlong", "អន្លង់"),
    ("Phnum", "ភ្នំ"),
]
SYLLABLES_B = [
    ("Thmei", "ថ្មី"),
    ("Chas", "ចាស់"),
    ("Kandal", "កណ្ដាល"),
    ("Leu", "លើ"),
    ("Krom", "ក្រោម"),
    ("Khpos", "ខ្ពស់"),
    ("Sala", "សាលា"),
    ("Tbaeng", "ត្បែង"),
    ("Luong", "ហ្លួង"),
    ("Kroch", "ក្រូច"),
    ("Ampov", "អំពៅ"),
    ("Dambang", "ដំបង"),
    ("Kdei", "ក្ដី"),
    ("Sangkae", "សង្កែ"),
    ("Tonle", "ទន្លេ"),
    ("Chheu Teal", "ឈើទាល"),
    ("Pou", "ពោធិ៍"),
    ("Snuol", "ស្នួល"),
    ("Rumduol", "រំដួល"),
    ("Veal", "វាល"),
]
ROUTER_IFS = [f"eth{i}" for i in range(1, 4)]


NUMBERS = [("Muoy", "មួយ"), ("Pir", "ពីរ"), ("Bei", "បី"), ("Buon", "បួន")]


def _commune_names(province: int, count: int) -> Iterator[tuple[str, str]]:
    """(romanised name, the same name in Khmer script), ``count`` different ones."""
    rng = random.Random(province * 7919)
    seen: set[str] = set()
    while len(seen) < count:
        (a, a_km), (b, b_km) = rng.choice(SYLLABLES_A), rng.choice(SYLLABLES_B)
        name, khmer = f"{a} {b}", a_km + b_km
        if name in seen:
            number, number_km = NUMBERS[len(seen) % 4]
            name, khmer = f"{name} {number}", khmer + number_km
        if name not in seen:
            seen.add(name)
            yield name, khmer


def _q(text: str) -> str:
    return yaml.safe_dump(text, default_style=None).strip().removesuffix("\n...")


class Allocator:
    """Hands out consecutive subnets of one size from a pool."""

    def __init__(self, pool: str, prefixlen: int) -> None:
        self._subnets = IPv4Network(pool).subnets(new_prefix=prefixlen)

    def next(self) -> IPv4Network:
        return next(self._subnets)


def generate(tenants_file: Path, scale: int = 1) -> dict[str, str]:
    """File name → YAML text of a national inventory with ``scale``× the communes."""
    tenants = yaml.safe_load(tenants_file.read_text(encoding="utf-8"))["tenants"]
    files: dict[str, str] = {"tenants.yaml": tenants_file.read_text(encoding="utf-8")}
    core_p2p = Allocator("10.254.0.0/20", 31)
    access_p2p = Allocator("10.128.0.0/14", 31)
    loopbacks = (IPv4Address("10.255.0.0") + i for i in range(1, 4096))
    cpe_loopbacks = (IPv4Address("10.64.0.0") + i for i in range(1, 2**18))
    mgmt = (IPv4Address("172.20.20.0") + i for i in range(11, 255))

    files[
        "network.yaml"
    ] = f"""# Cambodia's government private network, run by MPTC: the national data centre
# (NDC), its disaster-recovery site (DR), ministries and the 25 provinces down to
# every commune and sangkat. Generated by scripts/gen_national_inventory.py (scale {scale}).
network:
  name: cambodia
  description: Government private network of the Kingdom of Cambodia
  operator: MPTC

defaults:
  platform: cisco_ios
  snmp_profile: noc-v3
  ssh_credential: netops

groups:
  province-routers:
    platform: huawei_vrp
  cpe:
    platform: huawei_vrp
    snmp_profile: cpe-v3
  dc:
    platform: cisco_ios
"""
    prov_lines = [
        "# name_km: each province's official name in Khmer (scripts/gen_national_inventory.py).",
        "provinces:",
    ]
    for number, name, name_km, _ in PROVINCES:
        kind = "capital" if number == 12 else "province"
        prov_lines.append(
            f"  - {{code: KH-{number}, name: {name}, name_km: {name_km}, kind: {kind}}}"
        )
    files["provinces.yaml"] = "\n".join(prov_lines) + "\n"

    # core, data centres
    core_devices = ["devices:"]
    core_links = ["links:"]

    def device(
        name: str,
        role: str,
        site: str,
        ifs: list[str],
        *,
        tenant: str | None = None,
        groups: list[str] | None = None,
        loopback: bool = True,
    ) -> list[str]:
        lines = [
            f"  - name: {name}",
            f"    role: {role}",
            f"    site: {_q(site)}",
            f"    mgmt: {next(mgmt)}",
        ]
        if loopback:
            lines.append(f"    loopback: {next(loopbacks)}")
        if tenant:
            lines.append(f"    tenant: {tenant}")
        if groups:
            lines.append(f"    groups: [{', '.join(groups)}]")
        lines.append(f"    interfaces: [{', '.join(ifs)}]")
        return lines

    def link(
        a: str,
        b: str,
        kind: str,
        bandwidth: str,
        prefix: IPv4Network,
        *,
        routing: str = "{ospf: {area: 0}}",
        vlan: int | None = None,
        tenant: str | None = None,
        description: str | None = None,
    ) -> str:
        text = f"  - {{a: {a}, b: {b}, kind: {kind}, bandwidth: {bandwidth}, prefix: {prefix}"
        if vlan is not None:
            text += f", vlan: {vlan}"
        text += f", routing: {routing}"
        if tenant:
            text += f", tenant: {tenant}"
        if description:
            text += f", description: {_q(description)}"
        return text + "}"

    core_ifs = [f"eth{i}" for i in range(1, 80)]
    core_devices += device("core-1", "core", "KH-12", core_ifs)
    core_devices += device("core-2", "core", "KH-12", core_ifs)
    core_devices += device(
        "ndc-1", "dc-gateway", "NDC", ["eth1", "eth2", "eth3", "eth4", "eth5"], groups=["dc"]
    )
    core_devices += device(
        "dr-1", "dc-gateway", "DR", ["eth1", "eth2", "eth3", "eth4", "eth5"], groups=["dc"]
    )
    core_devices += device("ndc-fw-1", "firewall", "NDC", ["eth1", "eth2"], groups=["dc"])
    core_devices += device("dr-fw-1", "firewall", "DR", ["eth1", "eth2"], groups=["dc"])
    core_links.append(
        link(
            "core-1:eth1",
            "core-2:eth1",
            "core",
            "100G",
            core_p2p.next(),
            description="core interconnect",
        )
    )
    core_links.append(
        link(
            "core-1:eth2",
            "ndc-1:eth1",
            "core",
            "100G",
            core_p2p.next(),
            description="core-1 to the national data centre",
        )
    )
    core_links.append(
        link(
            "core-2:eth2",
            "ndc-1:eth2",
            "core",
            "100G",
            core_p2p.next(),
            description="core-2 to the national data centre",
        )
    )
    core_links.append(
        link(
            "core-2:eth3",
            "dr-1:eth1",
            "core",
            "40G",
            core_p2p.next(),
            description="core-2 to the disaster-recovery site",
        )
    )
    core_links.append(
        link(
            "ndc-1:eth3",
            "dr-1:eth2",
            "dc-interconnect",
            "40G",
            core_p2p.next(),
            description="NDC-DR replication",
        )
    )
    core_devices += [
        "  - name: nms-1",
        "    role: nms",
        "    site: NDC",
        "    mgmt: 172.20.20.5",
        f"    loopback: {next(loopbacks)}",
        "    platform: linux",
        "    interfaces: [eth1]",
    ]
    core_links.append(
        link(
            "core-1:eth9",
            "nms-1:eth1",
            "dc-fabric",
            "10G",
            core_p2p.next(),
            routing="{static: true}",
            description="network management station",
        )
    )
    core_links.append(link("ndc-1:eth4", "ndc-fw-1:eth1", "dc-fabric", "40G", core_p2p.next()))
    core_links.append(link("dr-1:eth4", "dr-fw-1:eth1", "dc-fabric", "40G", core_p2p.next()))

    # data centres: NDC 2 halls x 20 racks, DR 1 hall x 12 racks; a ToR per rack
    dc_lines = ["datacentres:"]
    tor_lines: list[str] = []
    for code, name, name_km, role, province, halls, wan in (
        (
            "NDC",
            "National Data Centre",
            "មជ្ឈមណ្ឌលទិន្នន័យជាតិ",
            "primary",
            "KH-12",
            (("hall-a", "A"), ("hall-b", "B")),
            "{device: vpn-ndc-1, interface: eth2, address: 203.0.113.2/30, gateway: 203.0.113.1}",
        ),
        (
            "DR",
            "Disaster Recovery Site",
            "ទីតាំងបម្រុង",
            "dr",
            "KH-17",
            (("hall-1", "D"),),
            "{device: vpn-dr-1, interface: eth2, address: 203.0.113.6/30, gateway: 203.0.113.5}",
        ),
    ):
        dc_lines += [
            f"  - code: {code}",
            f"    name: {name}",
            f"    name_km: {name_km}",
            f"    role: {role}",
            f"    province: {province}",
            "    # where the missions' IPsec tunnels end (missions.yaml)",
            f"    internet: {wan}",
            "    rooms:",
        ]
        racks = 20 if code == "NDC" else 12
        for hall, letter in halls:
            dc_lines += [
                f"      - name: {hall}",
                f"        power_kw: {racks * 8 * 0.9:g}",
                "        racks:",
            ]
            for r in range(1, racks + 1):
                rack = f"{letter}{r:02d}"
                tor = f"tor-{code.lower()}-{rack.lower()}"
                dc_lines.append(
                    f"          - {{name: {rack}, height_u: 42, power_kw: 8, tor: [{tor}]}}"
                )
                tor_lines += device(
                    tor,
                    "tor",
                    code,
                    [f"eth{i}" for i in range(1, 49)],
                    groups=["dc"],
                    loopback=False,
                )
    files["datacentres.yaml"] = "\n".join(dc_lines) + "\n"
    files["core.yaml"] = "\n".join(core_devices + tor_lines) + "\n\n" + "\n".join(core_links) + "\n"

    # ministries: a router each at its headquarters in Phnom Penh, on alternate cores
    min_devices = ["devices:"]
    min_links = ["links:"]
    for index, tenant in enumerate(tenants):
        code = str(tenant["code"])
        router = f"mr-{code.lower()}"
        min_devices += device(router, "ministry-router", "KH-12", ["eth1", "eth2"], tenant=code)
        core = f"core-{index % 2 + 1}"
        min_links.append(
            link(
                f"{core}:eth{50 + index // 2}",
                f"{router}:eth1",
                "ministry-core",
                "1G",
                core_p2p.next(),
                tenant=code,
                description=f"{code} headquarters",
            )
        )
    files["ministries.yaml"] = "\n".join(min_devices) + "\n\n" + "\n".join(min_links) + "\n"

    # provinces: a router each, dual-homed to both cores; a CPE per commune on a VLAN
    for number, name, _, base_count in PROVINCES:
        count = base_count * scale
        code = f"KH-{number}"
        router = f"pr-kh{number}"
        lines = [
            f"# {name} ({code}): {count} communes/sangkats, their CPEs and access links.",
            "# Commune names are generated from place-name words; name_km is the same name in",
            "# Khmer script, word by word (scripts/gen_national_inventory.py), for every commune.",
            "communes:",
        ]
        per_district = 12
        names = _commune_names(number, count)
        communes: list[str] = []
        for i in range(count):
            district, commune = divmod(i, per_district)
            ccode = (
                f"{number:02d}{district + 1:02d}{commune + 1:02d}"
                if count <= 99 * 12
                else f"{number:02d}{i // 99 + 1:02d}{i % 99 + 1:02d}"
            )
            sangkat = number == 12 or district == 0
            kind = "sangkat" if sangkat else "commune"
            commune_name, khmer = next(names)
            prefix = "សង្កាត់" if sangkat else "ឃុំ"
            lines.append(
                f"  - {{code: '{ccode}', name: {_q(commune_name)}, name_km: {prefix}{khmer}, "
                f"province: {code}, kind: {kind}}}"
            )
            communes.append(ccode)
        lines.append("")
        lines.append("devices:")
        lines += device(router, "province-router", code, ROUTER_IFS, groups=["province-routers"])
        cpe_lines: list[str] = []
        for ccode in communes:
            address = next(cpe_loopbacks)
            cpe_lines += [
                f"  - {{name: cpe-{ccode}, role: cpe, site: '{ccode}', mgmt: {address}, "
                f"loopback: {address}, groups: [cpe], interfaces: [wan0]}}"
            ]
        lines += cpe_lines
        lines.append("")
        lines.append("links:")
        lines.append(
            link(
                "core-1:eth" + str(20 + number),
                f"{router}:eth1",
                "province-core",
                "10G",
                core_p2p.next(),
                description=f"{name} uplink A",
            )
        )
        lines.append(
            link(
                "core-2:eth" + str(20 + number),
                f"{router}:eth2",
                "province-core",
                "10G",
                core_p2p.next(),
                description=f"{name} uplink B",
            )
        )
        for index, ccode in enumerate(communes):
            vlan = 1000 + index
            lines.append(
                link(
                    f"{router}:eth3.{vlan}",
                    f"cpe-{ccode}:wan0",
                    "commune-access",
                    "100M",
                    access_p2p.next(),
                    vlan=vlan,
                    routing="{static: true}",
                )
            )
        slug = name.lower().replace(" ", "-")
        files[f"provinces/kh-{number:02d}-{slug}.yaml"] = "\n".join(lines) + "\n"

    last_access_vlan = 1999 if scale == 1 else 3999
    files["pools.yaml"] = f"""pools:
  ipv4:
    management: {{prefix: 172.20.20.0/24, use: management, description: out-of-band management}}
    loopbacks: {{prefix: 10.255.0.0/20, use: loopback, description: router loopbacks}}
    cpe-loopbacks: {{prefix: 10.64.0.0/14, use: loopback, description: commune CPE loopbacks}}
    core-p2p: {{prefix: 10.254.0.0/20, use: p2p, description: "core, province and ministry links"}}
    access-p2p: {{prefix: 10.128.0.0/14, use: p2p, description: commune access links}}
    hosting-ndc: {{prefix: 10.100.0.0/16, use: hosting}}
    hosting-dr: {{prefix: 10.101.0.0/16, use: hosting}}
    tunnels: {{prefix: 10.252.0.0/22, use: tunnel, description: missions' IPsec tunnels}}
    missions: {{prefix: 10.120.0.0/16, use: mission, description: missions' local networks}}
  vlans:
    commune-access: {{first: 1000, last: {last_access_vlan}, description: a VLAN per commune}}
    hosting: {{first: 2000, last: 2999}}
  asns:
    private: {{first: 64512, last: 65534}}
"""
    files["credentials.yaml"] = """# References only: govnet refuses inline secrets.
# SNMPv3 authPriv everywhere; the CPEs have a user and keys apart from the routers'.
credentials:
  snmp:
    noc-v3:
      version: "3"
      user: govnet-noc
      level: authPriv
      auth_protocol: sha256
      auth: env:GOVNET_SNMP_AUTH
      priv_protocol: aes
      priv: env:GOVNET_SNMP_PRIV
    cpe-v3:
      version: "3"
      user: govnet-cpe
      level: authPriv
      auth_protocol: sha256
      auth: env:GOVNET_CPE_SNMP_AUTH
      priv_protocol: aes
      priv: env:GOVNET_CPE_SNMP_PRIV
  ssh:
    netops:
      username: govnet
      password: env:GOVNET_SSH_PASSWORD
"""
    hosting = ["# Written by `govnet hosting approve`; edit by hand only with care.", "hosting:"]
    hosting_net = Allocator("10.100.0.0/16", 26)
    counter = 0
    for tenant in tenants:
        for service in tenant.get("services", []):
            if service.get("fqdn") is None or counter >= 20:
                continue
            counter += 1
            rack = f"A{counter:02d}"
            hosting.append(
                f"  - {{id: h-{counter:04d}, tenant: {tenant['code']}, "
                f"service: {_q(service['name'])}, "
                f"datacentre: NDC, rack: {rack}, first_u: 1, units: 4, power_kw: 2.5, "
                f"vlan: {2000 + counter}, prefix: {hosting_net.next()}}}"
            )
    files["hosting.yaml"] = "\n".join(hosting) + "\n"
    files["missions.yaml"] = _missions(core_p2p, loopbacks, mgmt, device, link)
    return files


def _missions(
    core_p2p: Allocator,
    loopbacks: Iterator[IPv4Address],
    mgmt: Iterator[IPv4Address],
    device: Any,
    link: Any,
) -> str:
    """Missions abroad and the IPsec gateways they tunnel to (made last, so adding them
    moved no other device's addresses); internet addresses are documentation prefixes."""
    lines = [
        "# Missions abroad: a representative set (the seed documents do not list Cambodia's",
        "# missions; these are a plausible sample). Each reaches the NDC and the DR only across",
        "# the public internet, through one IKEv2/IPsec tunnel to each: OSPF runs over VXLAN",
        "# inside the SAs. The tunnels end on a strongSwan/FRR VPN gateway in each data centre.",
        "# Internet addresses are documentation prefixes (RFC 5737); keys are references.",
        "# Generated by scripts/gen_national_inventory.py.",
        "groups:",
        "  vpn:",
        "    platform: frr",
        "devices:",
    ]
    lines += device("vpn-ndc-1", "dc-gateway", "NDC", ["eth1", "eth2"], groups=["vpn"])
    lines += device("vpn-dr-1", "dc-gateway", "DR", ["eth1", "eth2"], groups=["vpn"])
    for code, _, _ in MISSIONS:
        lines += device(f"ms-{code.lower()}", "mission-router", code, ["eth1"], groups=["vpn"])
    lines += [
        "links:",
        link(
            "ndc-1:eth5",
            "vpn-ndc-1:eth1",
            "dc-fabric",
            "10G",
            core_p2p.next(),
            description="NDC IPsec gateway for the missions abroad",
        ),
        link(
            "dr-1:eth5",
            "vpn-dr-1:eth1",
            "dc-fabric",
            "10G",
            core_p2p.next(),
            description="DR IPsec gateway for the missions abroad",
        ),
        "missions:",
    ]
    tunnels = Allocator("10.252.0.0/22", 30)
    for index, (code, name, city) in enumerate(MISSIONS):
        wan = IPv4Network(f"198.51.100.{4 * index}/30")
        psk = f"env:GOVNET_IPSEC_PSK_{code.replace('-', '_')}"
        lines += [
            f"  - code: {code}",
            f"    name: {name}",
            f"    country: {code[:2]}",
            f"    city: {city}",
            f"    prefix: 10.120.{index + 1}.0/24",
            f"    internet: {{device: ms-{code.lower()}, interface: eth1, "
            f"address: {wan.network_address + 2}/30, gateway: {wan.network_address + 1}}}",
            "    tunnels:",
            f"      - {{datacentre: NDC, prefix: {tunnels.next()}, psk: {psk}}}",
            f"      - {{datacentre: DR, prefix: {tunnels.next()}, psk: {psk}}}",
        ]
    return "\n".join(lines) + "\n"


def write(target: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target", type=Path)
    parser.add_argument("--scale", type=int, default=1, help="communes per province multiplier")
    parser.add_argument("--tenants", type=Path, default=Path("inventory/cambodia/tenants.yaml"))
    args = parser.parse_args()
    tenants = args.tenants
    if args.target.resolve() != tenants.parent.resolve() and (args.target / "provinces").exists():
        shutil.rmtree(args.target / "provinces")
    write(args.target, generate(tenants, args.scale))


if __name__ == "__main__":
    main()
