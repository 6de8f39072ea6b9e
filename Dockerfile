# boxlab in one image: the server, its native helper, the web assets, the lessons
# and the sandbox rootfs.
#   docker build -t boxlab .
#   docker run --privileged -p 8080:8080 boxlab        (README: "Docker" says what
#                                                      --privileged grants and why)
#   docker build --target sandbox -t boxlab-sandbox .  (the docker driver's sandbox image)
# The base image is Debian's. Where no registry answers, scripts/docker-base-image.sh
# makes it locally (debootstrap + docker import). Only Debian's archive and the npm
# registry are used while building. Behind a proxy that re-signs TLS, pass its CA:
#   --build-arg EXTRA_CA_CERTS="$(cat proxy-ca.crt)"
ARG BASE_IMAGE=debian:bookworm-slim

# ---- rootfs: the sandbox root filesystem, as `boxlab rootfs` builds it: debootstrap
# from the same package list, then the same setup script
FROM ${BASE_IMAGE} AS rootfs
ARG SUITE=bookworm
ARG MIRROR=http://deb.debian.org/debian
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY server/sandbox/rootfs/packages.txt server/sandbox/rootfs/setup.sh /src/
RUN debootstrap --variant=minbase --include="$(sed 's/#.*//' /src/packages.txt | xargs | tr ' ' ,)" "$SUITE" /rootfs "$MIRROR" \
 && sh /src/setup.sh /rootfs \
 && printf '{"suite":"%s","mirror":"%s","builtBy":"Dockerfile"}\n' "$SUITE" "$MIRROR" > /rootfs/.boxlab-rootfs

# ---- sandbox: the docker driver's sandbox image, the same tree
FROM scratch AS sandbox
COPY --from=rootfs /rootfs/ /
CMD ["bash"]

# ---- node: Node.js 20 and npm from the npm registry (Debian 12's own Node is 18),
# fetched with Debian's npm
FROM ${BASE_IMAGE} AS node
ARG NODE_VERSION=20.20.2
ARG NPM_VERSION=11.19.1
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ARG EXTRA_CA_CERTS=""
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN [ -z "$EXTRA_CA_CERTS" ] || { printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/extra.crt && update-ca-certificates; }
RUN arch=$(dpkg --print-architecture | sed 's/^amd64$/x64/') \
 && cd /tmp && npm pack --silent "node-linux-$arch@$NODE_VERSION" "npm@$NPM_VERSION" \
 && mkdir -p /opt/node/lib/node_modules/npm \
 && tar -xzf node-linux-*.tgz --strip-components=1 -C /opt/node \
 && tar -xzf npm-*.tgz --strip-components=1 -C /opt/node/lib/node_modules/npm \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /opt/node/bin/npm \
 && rm -rf /opt/node/share /tmp/*.tgz \
 && /opt/node/bin/node --version

# ---- build: the server (TypeScript), the native sandbox helper (C), the web assets
FROM ${BASE_IMAGE} AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc g++ make python3 libc6-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /opt/node /usr/local
COPY --from=node /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# native modules build against the headers shipped with Node, never downloaded
ENV npm_config_nodedir=/usr/local npm_config_update_notifier=false NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && mkdir -p labs

# ---- the image: what runs, nothing that builds
FROM ${BASE_IMAGE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /opt/node/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/labs ./labs
# the package list and setup script name the rootfs; the docker driver's scripts run in sandboxes
COPY --from=build /app/server/sandbox/rootfs ./server/sandbox/rootfs
COPY --from=build /app/server/sandbox/docker/end-session.sh ./server/sandbox/docker/
# copied into the data dir on first start: sandboxes overlay it, and an overlay's
# lower layer on the image's own (overlay) root would leave learners no overlay of their own
COPY --from=rootfs /rootfs /usr/lib/boxlab/rootfs
ENV NODE_ENV=production BOXLAB_HOST=0.0.0.0 BOXLAB_PORT=8080 BOXLAB_DATA_DIR=/var/lib/boxlab BOXLAB_ROOTFS_SEED=/usr/lib/boxlab/rootfs
VOLUME /var/lib/boxlab
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.BOXLAB_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini: signals reach the server, orphans are reaped
ENTRYPOINT ["tini", "--", "node", "/app/bin/boxlab.js"]
CMD ["serve"]
