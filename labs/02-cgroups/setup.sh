#!/bin/bash
# Lesson 2: a fork bomb to defuse, quiet enough not to flood the terminal
# (bash prints "fork: retry" for every refused fork).
set -eu
cat > /usr/local/bin/forkbomb <<'BOMB'
#!/bin/bash
# The classic :(){ :|:& };: with a readable name. Run it only inside a cgroup
# with a pids limit.
exec 2>/dev/null
bomb() { bomb | bomb & }
bomb
BOMB
chmod 755 /usr/local/bin/forkbomb
