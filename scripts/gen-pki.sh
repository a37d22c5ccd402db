#!/usr/bin/env bash
# Generate a throw-away PKI for tests and the demo, with the openssl CLI:
#   ca.pem/ca.key                root CA ("spoa-iam test root")
#   int.pem/int.key              intermediate CA, signs clients and server
#   chain.pem                    int + root (what a TLS peer needs)
#   server.pem                   localhost server cert + key + chain (HAProxy crt)
#   server.crt/server.key        the same, separately (Python test servers)
#   client-valid.pem             CN=client-valid, SAN DNS + email
#   client-spiffe.pem            URI SAN spiffe://example.org/ns/prod/sa/orders
#   client-expired.pem           validity entirely in the past
#   client-future.pem            validity entirely in the future
#   client-revoked.pem           listed in crl.pem
#   client-foreign.pem           issued by an unrelated CA (foreign-ca.pem)
#   crl.pem / crl.der            intermediate's CRL revoking client-revoked
#   crl-empty.pem                intermediate's CRL revoking nothing
#   crl-stale.pem                like crl.pem, but nextUpdate is in 2020
#   crl-foreign.pem              empty CRL signed by the foreign CA
#   client-*.crt / *.key         cert and key separately (curl --cert/--key)
# Usage: gen-pki.sh OUTDIR      (idempotent: regenerates everything)
set -euo pipefail
out=${1:?usage: gen-pki.sh OUTDIR}
mkdir -p "$out"
cd "$out"
rm -rf ca-db foreign-db && mkdir -p ca-db foreign-db
export OPENSSL_CONF=/dev/null

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

cat > ca.cnf <<'CNF'
[ ca ]
default_ca = int
[ int ]
dir = ./ca-db
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = ./int.pem
private_key = ./int.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
default_crl_days = 30
crl_extensions = crl_ext
[ foreign ]
dir = ./foreign-db
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = ./foreign-ca.pem
private_key = ./foreign-ca.key
default_md = sha256
policy = any
default_crl_days = 30
crl_extensions = crl_ext
[ crl_ext ]
# As real CAs do: the agent then picks the signer by key id, not name alone.
authorityKeyIdentifier = keyid:always
[ any ]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ v3_root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_int ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_server ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,DNS:apim.local,IP:127.0.0.1,IP:::1
[ v3_client ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
touch ca-db/index.txt
echo 1000 > ca-db/serial
echo 1000 > ca-db/crlnumber

# Root and intermediate.
key ca.key
openssl req -new -x509 -key ca.key -subj "/O=spoa-iam tests/CN=spoa-iam test root" \
  -days 3650 -config ca.cnf -extensions v3_root -out ca.pem
key int.key
openssl req -new -key int.key -subj "/O=spoa-iam tests/CN=spoa-iam test intermediate" -out int.csr
openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -set_serial 0x0100 -days 3650 \
  -extfile ca.cnf -extensions v3_int -out int.pem 2>/dev/null
cat int.pem ca.pem > chain.pem

# sign NAME SUBJECT EXT [SAN] [STARTDATE ENDDATE]
sign() {
  local name=$1 subj=$2 ext=$3 san=${4:-} start=${5:-} end=${6:-}
  local extfile=$name.ext
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  { sed -n "/^\[ $ext \]/,/^\[/p" ca.cnf | sed '$d'
    [ -n "$san" ] && echo "subjectAltName = $san"; } > "$extfile"
  # Extensions come from the ext file; the section header is its first line.
  local dates=(-days 825)
  [ -n "$start" ] && dates=(-startdate "$start" -enddate "$end")
  openssl ca -batch -config ca.cnf -in "$name.csr" -out "$name.crt" -notext \
    -extfile "$extfile" -extensions "$ext" "${dates[@]}" 2>/dev/null
  cat "$name.crt" "$name.key" > "$name.pem"
}

sign server "/O=spoa-iam tests/CN=localhost" v3_server
cat server.crt int.pem server.key > server.pem
cat server.crt int.pem > server-chain.crt

sign client-valid "/O=spoa-iam tests/OU=orders/CN=client-valid" v3_client \
  "DNS:client-valid.example.org,email:ops@example.org"
sign client-spiffe "/O=spoa-iam tests/CN=orders-workload" v3_client \
  "URI:spiffe://example.org/ns/prod/sa/orders"
sign client-revoked "/O=spoa-iam tests/CN=client-revoked" v3_client
sign client-expired "/O=spoa-iam tests/CN=client-expired" v3_client "" 20200101000000Z 20210101000000Z
sign client-future "/O=spoa-iam tests/CN=client-future" v3_client "" 20400101000000Z 20410101000000Z

# Revoke one client and publish the CRL (PEM and DER).
openssl ca -batch -config ca.cnf -revoke client-revoked.crt 2>/dev/null
openssl ca -batch -config ca.cnf -gencrl -out crl.pem 2>/dev/null
openssl crl -in crl.pem -outform DER -out crl.der
# An empty CRL too (for refresh tests: start clean, then switch).
cp ca-db/index.txt ca-db/index.full
grep -v '^R' ca-db/index.full | sed 's/^R/V/' > ca-db/index.txt || true
openssl ca -batch -config ca.cnf -gencrl -out crl-empty.pem 2>/dev/null
cp ca-db/index.full ca-db/index.txt
# A stale CRL: the same revocation, but nextUpdate long past.
openssl ca -batch -config ca.cnf -gencrl -crl_lastupdate 20200101000000Z \
  -crl_nextupdate 20200201000000Z -out crl-stale.pem 2>/dev/null

# A foreign CA and a client it signed (HAProxy reports a verify error).
key foreign-ca.key
openssl req -new -x509 -key foreign-ca.key -subj "/CN=foreign root" -days 3650 \
  -config ca.cnf -extensions v3_root -out foreign-ca.pem
key client-foreign.key
openssl req -new -key client-foreign.key -subj "/CN=client-foreign" -out client-foreign.csr
openssl x509 -req -in client-foreign.csr -CA foreign-ca.pem -CAkey foreign-ca.key \
  -set_serial 0x0777 -days 825 -extfile ca.cnf -extensions v3_client \
  -out client-foreign.crt 2>/dev/null
cat client-foreign.crt client-foreign.key > client-foreign.pem
# A CRL from the foreign CA (its signer is not in clients-ca.pem).
touch foreign-db/index.txt
echo 1000 > foreign-db/crlnumber
openssl ca -batch -config ca.cnf -name foreign -gencrl -out crl-foreign.pem 2>/dev/null

# HAProxy's verify needs the whole chain of client issuers.
cat int.pem ca.pem > clients-ca.pem
rm -f ./*.csr ./*.ext
echo "gen-pki: wrote $(ls | wc -l) files to $out"
