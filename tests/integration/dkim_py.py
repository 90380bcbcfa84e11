"""dkim_py - an independent DKIM signer and verifier (python3-dkim).

    /usr/bin/python3 dkim_py.py sign SELECTOR DOMAIN KEYFILE [options] < msg
        --alg rsa-sha256|rsa-sha1|ed25519-sha256   (default rsa-sha256)
        --canon relaxed/relaxed                    (default)
        --length                                   add l= (body length)
        --t T --x X                                set t= and x=
    /usr/bin/python3 dkim_py.py verify PORT FILE

sign prints the message with a DKIM-Signature on top: for what the
`dkimsign` command cannot write (l=, t=, x=). KEYFILE is PEM for RSA and
the base64 seed for ed25519 (as python3-dkim wants). verify checks the
first DKIM-Signature with dkim.verify(), asking the key from knot on
127.0.0.1@PORT through kdig, and prints "pass" or "fail". Run with
Debian's /usr/bin/python3 (python3-dkim, python3-nacl), not another
Python on PATH.
"""

import argparse
import base64
import subprocess
import sys
import time

import dkim


def sign(args):
    msg = sys.stdin.buffer.read()
    alg = args.alg.encode()
    canon = args.canon.encode()
    key = open(args.keyfile, "rb").read()
    d = dkim.DKIM(msg, signature_algorithm=alg)
    if alg == b"ed25519-sha256":
        import nacl.encoding
        import nacl.signing
        pk = nacl.signing.SigningKey(key, encoder=nacl.encoding.Base64Encoder)
    else:
        pk = dkim.parse_pem_private_key(key)
    include = tuple(x.lower() for x in d.default_sign_headers())
    d.include_headers = include
    policy = dkim.CanonicalizationPolicy.from_c_value(canon)
    body = policy.canonicalize_body(d.body)
    d.hasher = dkim.HASH_ALGORITHMS[alg]
    h = d.hasher()
    h.update(body)
    t = args.t if args.t is not None else int(time.time())
    fields = [(b"v", b"1"), (b"a", alg), (b"c", canon),
              (b"d", args.domain.encode()), (b"s", args.selector.encode()),
              (b"t", str(t).encode())]
    if args.x is not None:
        fields.append((b"x", str(args.x).encode()))
    if args.length:
        fields.append((b"l", str(len(body)).encode()))
    fields += [(b"h", b":".join(include)),
               (b"bh", base64.b64encode(h.digest())), (b"b", b"0" * 60)]
    res = d.gen_header(fields, include, policy, b"DKIM-Signature", pk)
    sys.stdout.buffer.write(b"DKIM-Signature: " + res + msg)
    return 0


def verify(args):
    port = args.port

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+short",
                            "+timeout=2", "+retry=1", name, "TXT"],
                           stdout=subprocess.PIPE, check=False)
        lines = r.stdout.decode().splitlines()
        if not lines:
            return None
        # "a" "b" -> ab (kdig prints the character-strings quoted)
        out = ""
        for part in lines[0].split('" "'):
            out += part.strip('"')
        return out.encode()

    msg = open(args.file, "rb").read()
    ok = dkim.verify(msg, dnsfunc=dnsfunc)
    print("pass" if ok else "fail")
    return 0


def main(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("selector")
    s.add_argument("domain")
    s.add_argument("keyfile")
    s.add_argument("--alg", default="rsa-sha256")
    s.add_argument("--canon", default="relaxed/relaxed")
    s.add_argument("--length", action="store_true")
    s.add_argument("--t", type=int)
    s.add_argument("--x", type=int)
    v = sub.add_parser("verify")
    v.add_argument("port", type=int)
    v.add_argument("file")
    args = p.parse_args(argv[1:])
    return sign(args) if args.cmd == "sign" else verify(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
