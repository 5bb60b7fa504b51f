#!/bin/sh
# Regenerates captures/realstack.pcapng and captures/realstack.truth.json from a real network stack:
# a "device" network namespace talks, through a router namespace, to real servers (dnsmasq,
# openssl s_server, python3 http.server) in a "cloud" namespace, and dumpcap records the device's
# interface. Only documentation addresses in namespaces made here are used; nothing is routed
# anywhere else. Needs root (ip netns). Usage: captures/realstack/make-capture.sh [OUTDIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE/..}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "make-capture.sh: needs root (network namespaces)" >&2; exit 1; }

PKGS="iproute2 ethtool dnsmasq-base openssl curl python3 tshark"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Names unique to this run, so that two runs (or a crashed one) never collide.
TAG=etrs$$
NS_DEV=$TAG-dev NS_RTR=$TAG-rtr NS_CLOUD=$TAG-cloud
WORK=$(mktemp -d)
PIDS=""
cleanup() {
    for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
    for pid in $PIDS; do wait "$pid" 2>/dev/null || true; done
    for ns in $NS_DEV $NS_RTR $NS_CLOUD; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "/etc/netns/$NS_DEV" "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

in_dev() { ip netns exec "$NS_DEV" "$@"; }
in_rtr() { ip netns exec "$NS_RTR" "$@"; }
in_cloud() { ip netns exec "$NS_CLOUD" "$@"; }

# --- addresses (documentation ranges only) ---
DEV4=192.168.77.20 DEV6=2001:db8:77::20 DEV_MAC=f0:27:2d:77:00:20   # f0:27:2d: an Amazon OUI
RTR4=192.168.77.1 RTR6=2001:db8:77::1
AVS=198.51.100.10 METRICS=198.51.100.20 METRICS2=198.51.100.21 UNAGI=198.51.100.30
CDN=203.0.113.40 SPECTRUM=203.0.113.50 TIME=203.0.113.60 EXAMPLE6=2001:db8::80

# --- network: device -- router -- cloud ---
for ns in $NS_DEV $NS_RTR $NS_CLOUD; do
    ip netns add "$ns"
    # No DAD or router solicitation delays: addresses are usable at once.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.router_solicitations=0
    ip netns exec "$ns" ip link set lo up
done
ip link add dev0 netns "$NS_DEV" address "$DEV_MAC" type veth peer name lan0 netns "$NS_RTR"
ip link add wan0 netns "$NS_RTR" type veth peer name cloud0 netns "$NS_CLOUD"
# Offloads off: the capture then holds wire-sized frames, as on a real LAN.
in_dev ethtool -K dev0 tx off tso off gso off gro off >/dev/null
in_rtr ethtool -K lan0 tx off tso off gso off gro off >/dev/null
in_rtr ethtool -K wan0 tx off tso off gso off gro off >/dev/null
in_cloud ethtool -K cloud0 tx off tso off gso off gro off >/dev/null

in_dev ip addr add "$DEV4/24" dev dev0
in_dev ip addr add "$DEV6/64" dev dev0
in_dev ip link set dev0 up
for net in 198.51.100.0/24 203.0.113.0/24; do in_dev ip route add "$net" via "$RTR4"; done
in_dev ip -6 route add 2001:db8::/64 via "$RTR6"

in_rtr ip addr add "$RTR4/24" dev lan0
in_rtr ip addr add "$RTR6/64" dev lan0
in_rtr ip addr add 192.0.2.1/30 dev wan0
in_rtr ip addr add 2001:db8:ff::1/64 dev wan0
in_rtr ip link set lan0 up
in_rtr ip link set wan0 up
in_rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for net in 198.51.100.0/24 203.0.113.0/24; do in_rtr ip route add "$net" via 192.0.2.2; done
in_rtr ip -6 route add 2001:db8::/64 via 2001:db8:ff::2

in_cloud ip addr add 192.0.2.2/30 dev cloud0
in_cloud ip addr add 2001:db8:ff::2/64 dev cloud0
for ip in $AVS $METRICS $METRICS2 $UNAGI $CDN $SPECTRUM $TIME; do in_cloud ip addr add "$ip/32" dev cloud0; done
in_cloud ip addr add "$EXAMPLE6/128" dev cloud0
in_cloud ip link set cloud0 up
in_cloud ip route add 192.168.77.0/24 via 192.0.2.1
in_cloud ip -6 route add 2001:db8:77::/64 via 2001:db8:ff::1

# The device's resolver is the router (ip netns exec bind-mounts this file on /etc/resolv.conf).
mkdir -p "/etc/netns/$NS_DEV"
printf 'nameserver %s\noptions attempts:1 timeout:3\n' "$RTR4" >"/etc/netns/$NS_DEV/resolv.conf"

# --- certificates: a CA of our own, one certificate per server ---
cd "$WORK"
CNF="$HERE/certs.cnf"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.csr \
    -subj "/O=echotap realstack/CN=echotap realstack test CA" 2>/dev/null
openssl x509 -req -in ca.csr -signkey ca.key -days 30 -extfile "$CNF" -extensions ca -out ca.pem 2>/dev/null
make_cert() { # name common-name
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
        -subj "/CN=$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile "$CNF" -extensions "$1" -out "$1.pem" 2>/dev/null
}
make_cert avs bob-dispatch-prod-na.amazon.com
make_cert metrics device-metrics-us.amazon.com
make_cert unagi unagi-na.amazon.com
make_cert cdn '*.cloudfront.net'
make_cert time kindle-time.amazon.com
make_cert example www.example.org

# --- servers ---
# Runs a daemon in a namespace; ip netns exec execs it, so $! is the daemon itself.
start() { # namespace command...
    ns=$1; shift
    ip netns exec "$ns" "$@" >>"$WORK/servers.log" 2>&1 &
    PIDS="$PIDS $!"
}
tls_server() { # cert-name accept-address [options]
    name=$1 accept=$2; shift 2
    start "$NS_CLOUD" openssl s_server -quiet -cert "$name.pem" -key "$name.key" -cert_chain ca.pem \
        -accept "$accept" "$@"
}
start "$NS_RTR" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
    --bind-interfaces --listen-address="$RTR4" --log-queries --log-facility="$WORK/dnsmasq.log" \
    --host-record=avs-alexa-4-na.amazon.com,$AVS \
    --host-record=device-metrics-us.amazon.com,$METRICS \
    --host-record=unagi-na.amazon.com,$UNAGI \
    --host-record=d3p8zr0ffa9t17.cloudfront.net,$CDN \
    --host-record=spectrum.s3.amazonaws.com,$SPECTRUM \
    --cname=kindle-time.amazon.com,time-lb-na.amazon.com --host-record=time-lb-na.amazon.com,$TIME \
    --host-record=www.example.org,$EXAMPLE6
cat avs.pem ca.pem >avs-chain.pem
start "$NS_CLOUD" python3 "$HERE/avs_server.py" "$AVS" 443 avs-chain.pem avs.key
tls_server metrics "$METRICS:443" -www
tls_server metrics "$METRICS2:443" -www
tls_server unagi "$UNAGI:443" -www
# -WWW serves files from the working directory: a "firmware" part of a few hundred kB (random, so
# nothing can compress it).
head -c 300000 /dev/urandom >firmware-part.bin
tls_server cdn "$CDN:443" -WWW -tls1_3
tls_server time "$TIME:443" -www
tls_server example "[$EXAMPLE6]:443" -www
mkdir -p www/kindle-wifi
printf '<html><body>81ce4465-7167-4dcb-835b-dcc9e44c112a</body></html>\n' >www/kindle-wifi/wifistub-echo.html
start "$NS_CLOUD" python3 -m http.server 80 --bind "$SPECTRUM" --directory "$WORK/www"

wait_listening() { # netns-runner proto address:port
    for _ in $(seq 50); do
        "$1" ss -Hln"$2" | awk '{print $4}' | grep -qxF "$3" && return 0
        sleep 0.2
    done
    echo "make-capture.sh: nothing listens on $3 ($2)" >&2; cat "$WORK/servers.log" >&2; exit 1
}
wait_listening in_rtr u "$RTR4:53"
for ip in $AVS $METRICS $METRICS2 $UNAGI $CDN $TIME; do wait_listening in_cloud t "$ip:443"; done
wait_listening in_cloud t "[$EXAMPLE6]:443"
wait_listening in_cloud t "$SPECTRUM:80"

# --- capture ---
start "$NS_DEV" dumpcap -q -i dev0 -w "$WORK/realstack.pcapng"
DUMPCAP_PID=${PIDS##* }
for _ in $(seq 50); do grep -q "Capturing on" "$WORK/servers.log" && break; sleep 0.2; done
sleep 1

# Each connection is logged in steps.tsv with what it MEANS under doc/classification.md
# (proto, server, port, service, host, evidence); truth.py matches them to the captured flows.
# A name given to a client is looked up through dnsmasq first: one UDP flow to the router's port 53.
step() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$WORK/steps.tsv"; }
dns_step() { step udp "$RTR4" 53 local - lan; }   # the router: a local server (doc/classification.md: local)
GET='GET / HTTP/1.0\r\n\r\n'
tls_client() { # s_client options...; sends one request, reads the answer until the server closes
    printf "$GET" | in_dev openssl s_client -ign_eof -CAfile ca.pem -verify_return_error "$@" >>"$WORK/clients.log" 2>&1
    sleep 1
}

# AVS: no SNI, TLS 1.2; only the certificate names the server. Cert evidence: the CN is the first
# candidate and matches bob-dispatch-prod-*.amazon.com (avs), so it is the host.
# On it the device speaks: a Recognize request with 2 s of 16 kHz 16-bit audio (20 chunks of
# 3200 B, one per 100 ms); the answer (directives, then speech) follows and the server closes.
# The interaction runs from the first audio chunk to the end of the answer.
voice_request() { # audio chunks
    # Speak 2 s after connecting: more than the detector's 1 s gap, so the handshake is no part of
    # the voice burst.
    sleep 2
    date +%s.%N >voice.start
    printf 'RECOGNIZE %d\n' $(($1 * 3200))
    for _ in $(seq "$1"); do head -c 3200 /dev/urandom; sleep 0.1; done
}
dns_step
step tcp $AVS 443 avs bob-dispatch-prod-na.amazon.com cert
voice_request 20 | in_dev openssl s_client -ign_eof -nocommands -CAfile ca.pem -verify_return_error \
    -connect avs-alexa-4-na.amazon.com:443 -4 -noservername -tls1_2 \
    -verify_hostname avs-alexa-4-na.amazon.com >>"$WORK/clients.log" 2>&1
printf '%s\tinteraction\t%s\t%s\n' "$DEV4" "$(cat voice.start)" "$(date +%s.%N)" >>"$WORK/interactions.tsv"
sleep 1

# Metrics: SNI, TLS 1.2 (the certificate is visible too, but SNI is stronger).
dns_step
step tcp $METRICS 443 metrics device-metrics-us.amazon.com sni
tls_client -connect device-metrics-us.amazon.com:443 -4 -servername device-metrics-us.amazon.com -tls1_2

# Metrics without SNI (TLS 1.2), as Echos sometimes do: the certificate names it (its CN is the
# first candidate and matches device-metrics-*.amazon.com).
dns_step
step tcp $METRICS 443 metrics device-metrics-us.amazon.com cert
tls_client -connect device-metrics-us.amazon.com:443 -4 -noservername -tls1_2

# unagi: a full handshake, then a resumed one (SNI, no certificate in the second handshake).
dns_step
step tcp $UNAGI 443 metrics unagi-na.amazon.com sni
tls_client -connect unagi-na.amazon.com:443 -4 -servername unagi-na.amazon.com -tls1_2 -sess_out unagi.sess
dns_step
step tcp $UNAGI 443 metrics unagi-na.amazon.com sni
tls_client -connect unagi-na.amazon.com:443 -4 -servername unagi-na.amazon.com -tls1_2 -sess_in unagi.sess

# A second metrics address the device never looks up: one flow with SNI, then one TLS 1.3 flow
# without SNI (certificate encrypted, no DNS answer): its only evidence is the first flow (same-ip).
step tcp $METRICS2 443 metrics device-metrics-us-2.amazon.com sni
tls_client -connect $METRICS2:443 -servername device-metrics-us-2.amazon.com -tls1_2
step tcp $METRICS2 443 metrics device-metrics-us-2.amazon.com same-ip
tls_client -connect $METRICS2:443 -noservername -tls1_3 -verify_hostname device-metrics-us-2.amazon.com

# CDN: TLS 1.3 with SNI, a few hundred kB down. The name is the Echo's reachability probe host, which
# doc/classification.md classes connectivity (real captures): the truth follows the contract.
dns_step
step tcp $CDN 443 connectivity d3p8zr0ffa9t17.cloudfront.net sni
in_dev curl -4 -sS --http1.1 --tlsv1.3 --cacert ca.pem -o "$WORK/firmware.out" \
    https://d3p8zr0ffa9t17.cloudfront.net/firmware-part.bin
cmp -s "$WORK/firmware.out" firmware-part.bin || { echo "make-capture.sh: CDN download differs" >&2; exit 1; }
sleep 1

# Connectivity check: cleartext HTTP, Host header.
dns_step
step tcp $SPECTRUM 80 connectivity spectrum.s3.amazonaws.com http-host
in_dev curl -4 -sS -o /dev/null http://spectrum.s3.amazonaws.com/kindle-wifi/wifistub-echo.html
sleep 1

# Time: TLS 1.3 without SNI, so only the DNS answer names the server. The answer is a CNAME chain
# kindle-time.amazon.com -> time-lb-na.amazon.com -> A; the contract takes the name asked for.
dns_step
step tcp $TIME 443 time kindle-time.amazon.com dns
tls_client -connect kindle-time.amazon.com:443 -4 -noservername -tls1_3 -verify_hostname kindle-time.amazon.com

# Not Amazon: www.example.org over IPv6 with SNI; it has a host but no rule, so it stays untagged.
dns_step
step tcp $EXAMPLE6 443 - www.example.org sni
in_dev curl -6 -sS -o /dev/null --cacert ca.pem https://www.example.org/
sleep 2

kill -TERM "$DUMPCAP_PID"
wait "$DUMPCAP_PID" || true
grep -q "^Reused" "$WORK/clients.log" || { echo "make-capture.sh: the unagi session was not resumed" >&2; exit 1; }

python3 "$HERE/truth.py" "$WORK/realstack.pcapng" "$WORK/steps.tsv" "$WORK/interactions.tsv" >"$WORK/truth.json"
chmod 644 "$WORK/realstack.pcapng" "$WORK/truth.json"
mv "$WORK/realstack.pcapng" "$OUT/realstack.pcapng"
mv "$WORK/truth.json" "$OUT/realstack.truth.json"
echo "make-capture.sh: wrote $OUT/realstack.pcapng and $OUT/realstack.truth.json"
