#!/bin/sh
# Makes the DER certificate fixtures that generate.py puts into TLS Certificate messages.
# Run once; the outputs are committed (new keys give new bytes, so re-running changes the captures).
# The issuers are look-alikes made here, named after the CAs real Echo servers used (see README).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ca() {  # ca NAME "SUBJECT"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "$2" -keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>/dev/null
}
leaf() {  # leaf FILE CA "SUBJECT" "SAN list or empty"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$3" \
        -keyout "$tmp/$1.key" -out "$tmp/$1.csr" 2>/dev/null
    if [ -n "$4" ]; then printf 'subjectAltName=%s\n' "$4" > "$tmp/$1.ext"; else : > "$tmp/$1.ext"; fi
    openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.pem" -CAkey "$tmp/$2.key" -set_serial 0x$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | cut -c1-16) \
        -days 825 -extfile "$tmp/$1.ext" -outform DER -out "$1.der" 2>/dev/null
}
ca digicert "/C=US/O=DigiCert Inc/CN=DigiCert Global CA G2"
ca amazon "/C=US/O=Amazon/CN=Amazon RSA 2048 M01"
ca other "/C=US/O=Example Trust/CN=Example Trust CA"

avs_sans=""
for n in $(seq 1 20) 999; do avs_sans="${avs_sans}DNS:avs-alexa-$n-na.amazon.com,"; done
leaf avs digicert "/C=US/ST=Washington/L=Seattle/O=Amazon.com, Inc./CN=bob-dispatch-prod-na.amazon.com" "${avs_sans%,}"
leaf metrics digicert "/C=US/ST=Washington/L=Seattle/O=Amazon.com, Inc./CN=device-metrics-us.amazon.com" \
    "DNS:device-metrics-us.amazon.com,DNS:device-metrics-us-2.amazon.com"
leaf dpgw amazon "/CN=dp-gw-na.amazon.com" "DNS:dp-gw-na.amazon.com"
leaf cloudfront amazon "/CN=*.cloudfront.net" "DNS:cloudfront.net,DNS:*.cloudfront.net"
leaf example other "/C=US/O=Example/CN=www.example.org" "DNS:www.example.org,DNS:example.org"
# Hostile: hundreds of SANs, the AVS one last; a CN that is not a host name.
many=""
for n in $(seq 1 400); do many="${many}DNS:host-$n.tracker.example.net,"; done
leaf many-sans other "/CN=host-0.tracker.example.net" "${many}DNS:avs-alexa-7-na.amazon.com"
leaf odd-cn other "/CN=not a host; name\\, really" ""
# Interception: the API's own certificate, and a forged one for the same name from a
# man-in-the-middle proxy's CA (mitmproxy's default CA is "O=mitmproxy, CN=mitmproxy").
ca mitmproxy "/O=mitmproxy/CN=mitmproxy"
leaf api amazon "/CN=api.amazonalexa.com" "DNS:api.amazonalexa.com"
leaf forged-api mitmproxy "/CN=api.amazonalexa.com" "DNS:api.amazonalexa.com"
ls -l ./*.der
# Echo-to-Echo mutual TLS on the LAN (TCP 55443): self-signed, CN WHALEXA (one Echo's CN is
# "0.0.0.0", which is not a host name). Made by running these lines alone, so that the older
# fixtures kept their bytes.
selfsigned() {  # selfsigned FILE "SUBJECT"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "$2" \
        -keyout "$tmp/$1.key" -outform DER -out "$1.der" 2>/dev/null
}
selfsigned whalexa-a "/CN=WHALEXA"
selfsigned whalexa-zero "/CN=0.0.0.0"
