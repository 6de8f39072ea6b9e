#!/bin/bash
# Lesson 7: the sandbox's own Docker engine, running, with its base images
# (there is no registry to pull from), none of the lesson's containers yet,
# and a small site for the bind mount.
set -eu

docker_up
boxlab-images busybox boxlab/slim >/dev/null
# start again from nothing: a reset, or a sandbox that ran this lesson before
for c in box capped web store sidecar alone quick slow; do docker rm -f "$c" >/dev/null 2>&1 || true; done
docker volume rm data >/dev/null 2>&1 || true

mkdir -p /srv/site
printf '<h1>Served from the sandbox</h1>\n' > /srv/site/index.html
