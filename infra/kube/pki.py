"""Keys and certificates of the local control plane, made with `cryptography` (no openssl, no cfssl).

A CA signs the API server's serving certificate (127.0.0.1 and the in-cluster names), so every
client verifies TLS against the CA the kubeconfig carries, as against EKS. The service-account key
pair signs the tokens the controller-manager's controllers use. Admin and components log in with
static bearer tokens (`--token-auth-file`): fewer moving parts than client certificates, and RBAC
still decides what each may do.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

__all__ = ["USERS", "Pki", "load_pki", "make_pki"]

SERVICE_IP = "10.96.0.1"  # the first address of --service-cluster-ip-range (the `kubernetes` Service)
_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
# Users of the token file: name -> (uid, groups). Controller-manager and scheduler get the
# identities RBAC's bootstrap policy grants them; kwok acts for kubelets and needs more: masters.
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("1", ("system:masters",)),
    "system:kube-controller-manager": ("2", ()),
    "system:kube-scheduler": ("3", ()),
    "kwok": ("4", ("system:masters",)),
}


@dataclass(frozen=True)
class Pki:
    """Paths of what `make_pki` wrote, and the bearer token of each user."""

    dir: Path
    tokens: dict[str, str]

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def serving_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    @property
    def token_file(self) -> Path:
        return self.dir / "tokens.csv"


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600)
    path.write_bytes(data)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    pem, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(pem, pkcs8, serialization.NoEncryption())


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None
) -> x509.Certificate:
    """A CA certificate (issuer None) or a serving certificate signed by `issuer`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0] if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        return builder.sign(key, hashes.SHA256())
    sans = [x509.DNSName(n) for n in _NAMES] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", SERVICE_IP)
    ]
    builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False).add_extension(
        x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
    )
    return builder.sign(issuer[1], hashes.SHA256())


def make_pki(directory: Path) -> Pki:
    """Write a fresh CA, serving certificate, service-account key pair and token file."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("inferops-local-ca", ca_key, None)
    key = ec.generate_private_key(ec.SECP256R1())
    serving = _cert("kube-apiserver", key, (ca.subject, ca_key))
    pki = Pki(directory, {user: secrets.token_hex(24) for user in USERS})
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.serving_cert.write_bytes(serving.public_bytes(serialization.Encoding.PEM))
    _write_private(pki.serving_key, _pem_key(key))
    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(pki.sa_key, _pem_key(sa))
    pki.sa_pub.write_bytes(
        sa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    lines = [f'{pki.tokens[u]},{u},{uid},"{",".join(groups)}"' for u, (uid, groups) in USERS.items()]
    _write_private(pki.token_file, ("\n".join(lines) + "\n").encode())
    return pki


def load_pki(directory: Path) -> Pki:
    """The Pki a previous `make_pki` wrote (tokens read back from the token file)."""
    tokens = {}
    for line in (directory / "tokens.csv").read_text().splitlines():
        token, user = line.split(",")[:2]
        tokens[user] = token
    return Pki(directory, tokens)
