"""Does the firewall the instance starts at boot let SSH in: ufw, nftables and saved iptables rules."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.rescue_system.firewall import check_firewall, iptables_verdict, nft_verdict, ufw_verdict
from zomro_rescue_mcp.rescue_system.report import Report

UFW_ON = ["ENABLED=yes", 'DEFAULT_INPUT_POLICY="DROP"']


@pytest.mark.parametrize(
    ("rules", "blocked"),
    [
        ([], True),
        (["-A ufw-user-input -p tcp --dport 80 -j ACCEPT"], True),
        (["-A ufw-user-input -p tcp --dport 22 -j ACCEPT"], False),
        (["-A ufw-user-input -p tcp --dport 22 -j ufw-user-limit-accept"], False),
        (["-A ufw-user-input -p tcp -m multiport --dports 80,22,443 -j ACCEPT"], False),
        (["-A ufw-user-input -p tcp --dport 22 -j DROP", "-A ufw-user-input -p tcp --dport 22 -j ACCEPT"], True),
    ],
)
def test_ufw_blocks_ssh_unless_a_rule_allows_its_port(rules: list[str], blocked: bool) -> None:
    assert (ufw_verdict([*UFW_ON, *rules], [22]) is not None) is blocked


def test_ufw_disabled_or_accepting_by_policy_blocks_nothing() -> None:
    assert ufw_verdict(["ENABLED=no", 'DEFAULT_INPUT_POLICY="DROP"'], [22]) is None
    assert ufw_verdict(["ENABLED=yes", 'DEFAULT_INPUT_POLICY="ACCEPT"'], [22]) is None


def test_ufw_is_judged_on_sshds_own_port() -> None:
    rules = [*UFW_ON, "-A ufw-user-input -p tcp --dport 22 -j ACCEPT"]
    assert ufw_verdict(rules, [2222]) == "ufw is enabled with incoming policy DROP and no rule allows port 2222"


NFT = """#!/usr/sbin/nft -f
flush ruleset
table inet filter {
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept
        iif lo accept
        %s
    }
    chain output {
        type filter hook output priority filter; policy accept;
    }
}
"""


@pytest.mark.parametrize(
    ("rule", "blocked"),
    [
        ("tcp dport 80 accept", True),
        ("tcp dport 22 accept", False),
        ("tcp dport { 80, 22 } accept", False),
        ("tcp dport ssh accept", False),
        ("tcp dport 20-30 accept", False),
    ],
)
def test_an_nftables_input_chain_with_policy_drop_needs_an_accept_for_ssh(rule: str, blocked: bool) -> None:
    assert (nft_verdict(NFT % rule, [22]) is not None) is blocked


def test_an_nftables_drop_rule_for_ssh_blocks_it_even_with_policy_accept() -> None:
    text = (NFT % "tcp dport 22 drop").replace("policy drop", "policy accept")
    assert nft_verdict(text, [22]) == "nftables: tcp dport 22 drop"


def test_debians_default_nftables_conf_blocks_nothing() -> None:
    default = "table inet filter {\n chain input {\n  type filter hook input priority filter;\n }\n}\n"
    assert nft_verdict(default, [22]) is None


SAVED = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", ":services - [0:0]"]


@pytest.mark.parametrize(
    ("rules", "blocked"),
    [
        (["-A INPUT -i lo -j ACCEPT"], True),
        (["-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"], False),
        (["-A INPUT -j services", "-A services -p tcp --dport 22 -j ACCEPT"], False),
        (["-A INPUT -p tcp --dport 22 -j REJECT", "-A INPUT -p tcp --dport 22 -j ACCEPT"], True),
    ],
)
def test_saved_iptables_rules_are_judged_in_order_through_their_chains(rules: list[str], blocked: bool) -> None:
    assert (iptables_verdict([*SAVED, *rules, "COMMIT"], [22]) is not None) is blocked


def test_a_firewall_counts_only_when_its_unit_starts_it_at_boot() -> None:
    sections = "@@ufw\n" + "".join(f"|{line}\n" for line in UFW_ON)
    assert check_firewall(Report.parse("@@units\n" + sections), [22]) == ([], [])
    (found,), _ = check_firewall(Report.parse("@@units\n|ufw\n" + sections), [22])
    assert (found.kind, found.severity, found.fix, found.target) == (
        "firewall.blocks_ssh",
        "critical",
        "firewall.allow_ssh",
        "ufw",
    )


def test_firewalld_is_named_as_not_checked() -> None:
    _, notes = check_firewall(Report.parse("@@units\n|firewalld\n"), [22])
    assert notes == ["firewalld is enabled on the instance; its zones were not checked for SSH."]
