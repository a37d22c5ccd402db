"""JWT minting for the integration tests, with Python `cryptography`
(Debian's python3-cryptography), never with the agent's own code: a bug in
our verifier cannot be cancelled out by the same bug in the minter.
"""
import base64
import hashlib
import hmac
import json
import os
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64u(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(length, "big"))


_HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVE = {"ES256": (ec.SECP256R1, "P-256", 32), "ES384": (ec.SECP384R1, "P-384", 48),
          "ES512": (ec.SECP521R1, "P-521", 66)}


class Key:
    """A signing key with its kid and public JWK."""

    def __init__(self, alg, kid, size=2048, secret=None):
        self.alg = alg
        self.kid = kid
        if alg[:2] in ("RS", "PS"):
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=size)
        elif alg in _CURVE:
            self.priv = ec.generate_private_key(_CURVE[alg][0]())
        elif alg == "EdDSA":
            self.priv = ed25519.Ed25519PrivateKey.generate()
        elif alg.startswith("HS"):
            self.priv = secret or hashlib.sha256(kid.encode()).digest() * 2
        else:
            raise ValueError(alg)

    def jwk(self, **extra):
        if self.alg[:2] in ("RS", "PS"):
            pn = self.priv.public_key().public_numbers()
            j = {"kty": "RSA", "n": _int_b64u(pn.n), "e": _int_b64u(pn.e)}
        elif self.alg in _CURVE:
            pn = self.priv.public_key().public_numbers()
            size = _CURVE[self.alg][2]
            j = {"kty": "EC", "crv": _CURVE[self.alg][1], "x": _int_b64u(pn.x, size),
                 "y": _int_b64u(pn.y, size)}
        elif self.alg == "EdDSA":
            raw = self.priv.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)
            j = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
        else:
            raise ValueError("no public JWK for an HMAC key")
        j.update({"kid": self.kid, "use": "sig"})
        j.update(extra)
        return {k: v for k, v in j.items() if v is not None}

    def public_pem(self):
        return self.priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data, alg=None):
        alg = alg or self.alg
        h = _HASH.get(alg[-3:])
        if alg.startswith("RS"):
            return self.priv.sign(data, padding.PKCS1v15(), h())
        if alg.startswith("PS"):
            return self.priv.sign(data, padding.PSS(mgf=padding.MGF1(h()),
                                                    salt_length=h().digest_size), h())
        if alg.startswith("ES"):
            der = self.priv.sign(data, ec.ECDSA(h()))
            r, s = decode_dss_signature(der)
            size = _CURVE[alg][2]
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if alg == "EdDSA":
            return self.priv.sign(data)
        if alg.startswith("HS"):
            return hmac.new(self.priv, data, getattr(hashlib, "sha" + alg[2:])).digest()
        raise ValueError(alg)


def jwks(*keys, **extra):
    return {"keys": [k.jwk(**extra) for k in keys]}


def mint(key, claims=None, header=None, alg=None, kid="__key__", exp_in=600,
         iss=None, aud=None, sub="alice", raw_header=None, raw_payload=None,
         signature=None):
    """A compact JWS.  claims override the defaults; None values are dropped."""
    now = int(time.time())
    payload = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "nbf": now - 5,
               "exp": now + exp_in if exp_in is not None else None}
    payload.update(claims or {})
    payload = {k: v for k, v in payload.items() if v is not None}
    hdr = {"alg": alg or key.alg, "typ": "JWT"}
    if kid == "__key__":
        hdr["kid"] = key.kid
    elif kid is not None:
        hdr["kid"] = kid
    hdr.update(header or {})
    hdr = {k: v for k, v in hdr.items() if v is not None}
    h = raw_header if raw_header is not None else b64u(json.dumps(hdr, separators=(",", ":")))
    p = raw_payload if raw_payload is not None else b64u(json.dumps(payload, separators=(",", ":")))
    signing_input = f"{h}.{p}".encode()
    sig = signature if signature is not None else b64u(key.sign(signing_input, alg=hdr.get("alg")))
    return f"{h}.{p}.{sig}"


def cert_thumbprint_s256(cert_pem_path):
    """base64url SHA-256 of a certificate's DER, as cnf.x5t#S256 carries it."""
    from cryptography import x509
    with open(cert_pem_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return b64u(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


# ---------------------------------------------------------------- DPoP

def jwk_thumbprint(jwk):
    """RFC 7638: base64url SHA-256 of the required members, sorted, compact."""
    req = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
           "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canon = json.dumps({k: jwk[k] for k in req}, separators=(",", ":"),
                       sort_keys=True)
    return b64u(hashlib.sha256(canon.encode()).digest())


def ath(token):
    """RFC 9449 §4.2: base64url SHA-256 of the access token."""
    return b64u(hashlib.sha256(token.encode()).digest())


def dpop_proof(key, htm, htu, token=None, iat=None, jti=None, alg=None,
               typ="dpop+jwt", jwk=None, claims=None, header=None,
               signature=None):
    """A DPoP proof (RFC 9449 §4.2) signed by ${key} with its public JWK in
    the header (without kid/use).  ${claims} and ${header} override; None
    values are dropped."""
    pub = jwk if jwk is not None else {
        k: v for k, v in key.jwk().items() if k not in ("kid", "use")}
    hdr = {"typ": typ, "alg": alg or key.alg, "jwk": pub}
    hdr.update(header or {})
    body = {"jti": jti or b64u(os.urandom(12)), "htm": htm, "htu": htu,
            "iat": int(time.time()) if iat is None else iat,
            "ath": ath(token) if token is not None else None}
    body.update(claims or {})
    hdr = {k: v for k, v in hdr.items() if v is not None}
    body = {k: v for k, v in body.items() if v is not None}
    h = b64u(json.dumps(hdr, separators=(",", ":")))
    p = b64u(json.dumps(body, separators=(",", ":")))
    si = f"{h}.{p}".encode()
    if signature is not None:
        sig = signature
    elif hdr.get("alg") == "none":
        sig = ""
    else:
        sig = b64u(key.sign(si, alg=hdr.get("alg")))
    return f"{h}.{p}.{sig}"
