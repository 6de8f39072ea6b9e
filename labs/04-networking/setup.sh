#!/bin/bash
# Lesson 4: a stand-in for the internet, all inside the sandbox.
#
#   sandbox ("the host")                       namespace "world" ("the internet")
#   uplink 198.51.100.1/24  <---- veth ---->   eth0 198.51.100.2/24
#   default route via 198.51.100.2             lo   203.0.113.10 (a web server)
#
# The world has no route to any private subnet, so a learner's container can
# only reach it through NAT. Documentation ranges only: nothing leaves the sandbox.
set -eu

ip netns pids world 2>/dev/null | xargs -r kill -9
ip netns del world 2>/dev/null || true
ip link del uplink 2>/dev/null || true

ip netns add world
ip link add uplink type veth peer name eth0 netns world
ip addr add 198.51.100.1/24 dev uplink
ip link set uplink up
ip -n world link set lo up
ip -n world addr add 198.51.100.2/24 dev eth0
ip -n world link set eth0 up
ip -n world addr add 203.0.113.10/32 dev lo
ip route replace default via 198.51.100.2 dev uplink

# a machine only routes between its interfaces when asked to: the learner turns it on
sysctl -qw net.ipv4.ip_forward=0
# bridged traffic may pass through iptables (br_netfilter): let it through
iptables -P FORWARD ACCEPT

# a server out there that tells each client which address it came from
mkdir -p /usr/local/lib/boxlab
cat > /usr/local/lib/boxlab/world-server.py <<'PY'
import http.server

class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"Hello from the world! You came from {self.client_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("203.0.113.10", 80), Hello).serve_forever()
PY
ip netns exec world setsid -f python3 /usr/local/lib/boxlab/world-server.py </dev/null >/dev/null 2>&1

# what the learner's web server will publish
mkdir -p /srv/www
printf '<h1>Served from a container</h1>\n' > /srv/www/index.html

# wait for the world's server, so the first check never races it
for _ in $(seq 50); do
  ip netns exec world curl -fs -m 1 http://203.0.113.10/ >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "the world's web server did not start" >&2
exit 1
