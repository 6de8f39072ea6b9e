# Ends every process of the given sessions in a docker-driver sandbox, run as
#   sh -c "<this script>" boxlab-end GRACE_MS SESSION_ID...
# SIGHUP to all (a terminal closing), SIGKILL to those left after GRACE_MS
# (0: SIGKILL at once); returns once none is left. Zombies do not count: the
# init reaps them. It runs in the container, outside the sandbox, where the
# sandbox's processes have the ids of the container's PID namespace.
grace=$1
shift
for sid in "$@"; do [ "$sid" -gt 1 ] 2>/dev/null || exit 2; done
sids=" $* "
members() { ps -e -o sid=,stat=,pid= | awk -v s="$sids" 'index(s, " " $1 " ") && $2 !~ /^Z/ { print $3 }'; }
left=$(members)
if [ "$grace" -gt 0 ] && [ -n "$left" ]; then
  kill -HUP $left 2>/dev/null
  tries=$((grace / 10))
  while [ $tries -gt 0 ] && left=$(members) && [ -n "$left" ]; do sleep 0.01; tries=$((tries - 1)); done
fi
tries=500
while left=$(members) && [ -n "$left" ] && [ $tries -gt 0 ]; do
  kill -KILL $left 2>/dev/null
  sleep 0.01
  tries=$((tries - 1))
done
[ -z "$left" ]
