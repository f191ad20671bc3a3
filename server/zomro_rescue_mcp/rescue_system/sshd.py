"""The instance's SSH server: is its configuration valid, and does it have a host key.

Validity is decided by the instance's own `sshd -t`, run in a chroot of its root. When that cannot run (no chroot,
another architecture, a broken library), a parser of sshd_config(5) judges the lines instead, and the finding says
which of the two decided.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from .findings import Finding, finding
from .report import Report

__all__ = ["SshdConfig", "check_host_keys", "check_sshd", "parse_config", "read_config"]

_KEYWORDS = frozenset(
    """AcceptEnv AddressFamily AllowAgentForwarding AllowGroups AllowStreamLocalForwarding AllowTcpForwarding
    AllowUsers AuthenticationMethods AuthorizedKeysCommand AuthorizedKeysCommandUser AuthorizedKeysFile
    AuthorizedPrincipalsCommand AuthorizedPrincipalsCommandUser AuthorizedPrincipalsFile Banner CASignatureAlgorithms
    ChannelTimeout ChallengeResponseAuthentication ChrootDirectory Ciphers ClientAliveCountMax ClientAliveInterval
    Compression DebianBanner DenyGroups DenyUsers DisableForwarding ExposeAuthInfo FingerprintHash ForceCommand
    GatewayPorts GSSAPIAuthentication GSSAPICleanupCredentials GSSAPIEnablek5users GSSAPIKexAlgorithms
    GSSAPIKeyExchange GSSAPIStoreCredentialsOnRekey GSSAPIStrictAcceptorCheck HostbasedAcceptedAlgorithms
    HostbasedAcceptedKeyTypes HostbasedAuthentication HostbasedUsesNameFromPacketOnly HostCertificate HostKey
    HostKeyAgent HostKeyAlgorithms IgnoreRhosts IgnoreUserKnownHosts Include IPQoS KbdInteractiveAuthentication
    KerberosAuthentication KerberosGetAFSToken KerberosOrLocalPasswd KerberosTicketCleanup KerberosUseKuserok
    KexAlgorithms ListenAddress LoginGraceTime LogLevel LogVerbose MACs Match MaxAuthTries MaxSessions MaxStartups
    ModuliFile PasswordAuthentication PermitEmptyPasswords PermitListen PermitOpen PermitRootLogin PermitTTY
    PermitTunnel PermitUserEnvironment PermitUserRC PerSourceMaxStartups PerSourceNetBlockSize PerSourcePenalties
    PerSourcePenaltyExemptList PidFile Port PrintLastLog PrintMotd PubkeyAcceptedAlgorithms PubkeyAcceptedKeyTypes
    PubkeyAuthentication PubkeyAuthOptions RDomain RefuseConnection RekeyLimit RequiredRSASize RevokedKeys
    SecurityKeyProvider SetEnv SshdAuthPath SshdSessionPath StreamLocalBindMask StreamLocalBindUnlink StrictModes
    Subsystem SyslogFacility TCPKeepAlive TrustedUserCAKeys UnusedConnectionTimeout UseDNS UsePAM VersionAddendum
    X11DisplayOffset X11Forwarding X11UseLocalhost XAuthLocation""".lower().split()
)
# Options sshd still accepts with a "deprecated" or "unsupported" warning: not an error.
_DEPRECATED = frozenset(
    """AFSTokenPassing DSAAuthentication KerberosTgtPassing KeyRegenerationInterval PAMAuthenticationViaKbdInt
    Protocol ReverseMappingCheck RhostsRSAAuthentication RSAAuthentication ServerKeyBits ShowPatchLevel
    SkeyAuthentication UseLogin UsePrivilegeSeparation VerifyReverseMapping""".lower().split()
)
_YES_NO = frozenset(
    """AllowAgentForwarding DisableForwarding ExposeAuthInfo GSSAPIAuthentication GSSAPICleanupCredentials
    HostbasedAuthentication HostbasedUsesNameFromPacketOnly IgnoreUserKnownHosts KbdInteractiveAuthentication
    ChallengeResponseAuthentication KerberosAuthentication PasswordAuthentication PermitEmptyPasswords PermitTTY
    PermitUserRC PrintLastLog PrintMotd PubkeyAuthentication StrictModes TCPKeepAlive UseDNS UsePAM X11Forwarding
    X11UseLocalhost""".lower().split()
)
_CHOICES = {
    "permitrootlogin": {"yes", "no", "prohibit-password", "without-password", "forced-commands-only"},
    "compression": {"yes", "no", "delayed"},
    "gatewayports": {"yes", "no", "clientspecified"},
    "ignorerhosts": {"yes", "no", "shosts-only"},
    "addressfamily": {"any", "inet", "inet6"},
}


@dataclass
class SshdConfig:
    """The instance's sshd configuration as sent by the script: every file, and the lines in the order sshd reads."""

    files: dict[str, list[str]] = field(default_factory=dict)
    lines: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line number, text), Includes expanded

    def first(self, keyword: str, default: str) -> str:
        """The value sshd uses for `keyword` outside Match blocks (the first one it reads wins)."""
        for _, _, words in self._options():
            if words[0].lower() == keyword.lower() and len(words) > 1:
                return words[1]
        return default

    def ports(self) -> list[int]:
        found = [int(w[1]) for _, _, w in self._options() if w[0].lower() == "port" and len(w) > 1 and w[1].isdigit()]
        return found or [22]

    def _options(self) -> list[tuple[str, int, list[str]]]:
        out = []
        for path, number, text in self.lines:
            words = _words(text)
            if not words:
                continue
            if words[0].lower() == "match":
                break
            out.append((path, number, words))
        return out


def _words(text: str) -> list[str]:
    """A line's keyword and arguments ("Keyword value", "Keyword=value"), quotes and a trailing comment removed."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return []
    match = re.match(r"([A-Za-z0-9]+)\s*=\s*(.*)$", stripped)
    keyword, rest = match.groups() if match else (stripped.split()[0], stripped[len(stripped.split()[0]) :])
    args = []
    for word in rest.split():
        if word.startswith("#"):
            break
        args.append(word.strip('"'))
    return [keyword, *args]


def read_config(report: Report) -> SshdConfig:
    config = SshdConfig(files={s.arg(0): list(s.lines) for s in report.all("sshd_file")})
    main = "/etc/ssh/sshd_config"
    if main not in config.files:
        return config

    def expand(path: str, depth: int) -> None:
        for number, text in enumerate(config.files.get(path, []), start=1):
            words = _words(text)
            if words and words[0].lower() == "include" and depth < 4:
                config.lines.append((path, number, text))
                for pattern in words[1:]:
                    full = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                    for included in sorted(p for p in config.files if p != main and fnmatch.fnmatch(p, full)):
                        expand(included, depth + 1)
            else:
                config.lines.append((path, number, text))

    expand(main, 0)
    return config


def parse_config(config: SshdConfig) -> list[str]:
    """The errors sshd -t would report, judged by sshd_config(5)'s rules (unknown keyword, missing or bad value)."""
    errors: list[str] = []
    for path, number, text in config.lines:
        words = _words(text)
        if not words:
            continue
        keyword = words[0].lower()
        where = f"{path} line {number}"
        if keyword in _DEPRECATED:
            continue
        if keyword not in _KEYWORDS:
            errors.append(f"{where}: Bad configuration option: {words[0]}")
        elif len(words) < 2:
            errors.append(f"{where}: {words[0]}: missing argument")
        elif keyword in _YES_NO and words[1].lower() not in ("yes", "no"):
            errors.append(f'{where}: unsupported option "{words[1]}" for {words[0]} (yes or no)')
        elif keyword in _CHOICES and words[1].lower() not in _CHOICES[keyword]:
            errors.append(f'{where}: unsupported option "{words[1]}" for {words[0]}')
        elif keyword == "port" and not (words[1].isdigit() and 0 < int(words[1]) < 65536):
            errors.append(f"{where}: Badly formatted port number: {words[1]}")
    return errors


_HOST_KEY_LINES = ("could not load host key", "no hostkeys available", "unable to load host key")


def check_sshd(report: Report, config: SshdConfig) -> tuple[list[Finding], list[str]]:
    """ssh.config_invalid: the instance's `sshd -t` in a chroot, else the parser (and say which decided)."""
    test = report.first("sshd_test")
    if test is None:
        return [], []
    output = [line for line in test.lines if line.strip()]
    if test.arg(0) == "chroot" and test.arg(1) not in ("126", "127", "124"):
        if test.arg(1) == "0":
            return [], []
        problems = [
            line for line in output if not line.lower().startswith(_HOST_KEY_LINES) and "no hostkeys" not in line
        ]
        if not problems:  # it failed only for lack of host keys: ssh.host_keys_missing says so
            return [], []
        return [
            finding(
                "ssh.config_invalid",
                f"the instance's sshd -t rejects its configuration (exit status {test.arg(1)})",
                ["checked by: sshd -t in a chroot of the instance's root", *problems],
                target="/etc/ssh/sshd_config",
            )
        ], []
    if test.arg(0) == "chroot":
        why = f"it exited with status {test.arg(1)}" + (f": {output[0]}" if output else "")
    else:
        why = output[0] if output else "it could not run"
    if not config.files:
        return [], [f"The instance has no /etc/ssh/sshd_config; sshd -t could not run ({why})."]
    errors = parse_config(config)
    if not errors:
        return [], [f"sshd_config was checked by a parser, not by the instance's sshd -t ({why}): no error seen."]
    return [
        finding(
            "ssh.config_invalid",
            f"sshd_config has {len(errors)} line{'s' if len(errors) != 1 else ''} sshd would refuse",
            [f"checked by: a parser of sshd_config(5), because the instance's sshd -t could not run ({why})", *errors],
            target="/etc/ssh/sshd_config",
        )
    ], []


def check_host_keys(report: Report, config: SshdConfig) -> list[Finding]:
    """ssh.host_keys_missing: none of the host keys sshd_config names (or the defaults) exist."""
    section = report.first("hostkeys")
    if section is None or (not config.files and report.first("sshd_test") is None):
        return []
    states = [line.split(" ", 1) for line in section.lines if " " in line]
    if not states or any(state == "present" for state, _ in states):
        return []
    return [
        finding(
            "ssh.host_keys_missing",
            "none of the SSH host keys sshd would load exists, so sshd cannot start",
            [f"missing: {path}" for _, path in states],
            target="/etc/ssh",
        )
    ]
