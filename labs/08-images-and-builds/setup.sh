#!/bin/bash
# Lesson 8: the sandbox's Docker engine running, its three base images
# imported (no registry here), and two projects to build: /root/app (a
# Dockerfile that defeats its own build cache, and a secret beside it) and
# /root/hello (a C program built with its compiler in the image). A reset
# also removes what the lesson made: containers, images, runc's container.
set -eu

docker_up

# what an earlier run left: runc's (or crun's) container, Docker's
# containers, every image but the base ones
runc delete -f mybox >/dev/null 2>&1 || true
crun delete -f mybox >/dev/null 2>&1 || true
containers=$(docker ps -aq)
[ -z "$containers" ] || docker rm -f $containers >/dev/null
images=$(docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | awk '$1 !~ /^(busybox|boxlab\/slim|boxlab\/build):latest$/ { print $2 }' | sort -u)
[ -z "$images" ] || docker rmi -f $images >/dev/null 2>&1 || true
rm -rf /root/app /root/hello /root/greeter /root/bundle /root/trimmed /root/trimmed.tar /root/saved /root/whiteout.txt

boxlab-images

# the app: a shell script that needs two "dependencies", which a slow
# install step fetches (it sleeps, as a download would take time)
mkdir -p /root/app/src
cd /root/app
printf 'greetlib 1.2\ncolors 0.9\n' > deps.txt
cat > install-deps.sh <<'SH'
#!/bin/sh
# Fetches every dependency listed in deps.txt into vendor/. Slow: it is the
# step the build cache should spare you.
set -e
while read -r name version; do
  echo "fetching $name $version..."
  sleep 1
  mkdir -p "vendor/$name"
  echo "$version" > "vendor/$name/VERSION"
done < deps.txt
SH
cat > src/app.sh <<'SH'
#!/bin/sh
# The app: says which dependencies it found.
cd "$(dirname "$0")/.."
printf 'app 1.0 with'
for dep in vendor/*; do printf ' %s %s' "${dep#vendor/}" "$(cat "$dep/VERSION")"; done
echo
SH
printf '# local settings, never to be shipped\nAPI_TOKEN=tok-7f3a9c1e5b-do-not-ship\n' > .env
cat > Dockerfile <<'DF'
FROM boxlab/slim
WORKDIR /app
COPY . .
RUN sh install-deps.sh
CMD ["sh", "src/app.sh"]
DF

# hello: a C program, and a Dockerfile that ships the compiler with it
mkdir -p /root/hello
cd /root/hello
cat > hello.c <<'C'
#include <stdio.h>
#include <stdlib.h>

/* Greets its first argument (or the world), with $GREETING (or Hello). */
int main(int argc, char **argv) {
  const char *greeting = getenv("GREETING");
  printf("%s, %s!\n", greeting ? greeting : "Hello", argc > 1 ? argv[1] : "world");
  return 0;
}
C
cat > Dockerfile <<'DF'
FROM boxlab/build
COPY hello.c /src/
RUN tcc -o /src/hello /src/hello.c
CMD ["/src/hello"]
DF
