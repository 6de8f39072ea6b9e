# Ends every process of one session in a docker-driver sandbox, run as
#   sh -c "<this script>" boxlab-end SESSION_ID GRACE_MS
# SIGHUP to all (a terminal closing), SIGKILL to those left after GRACE_MS
# (0: SIGKILL at once); returns once none is left. Zombies do not count: the
# init reaps them.
sid=$1 grace=$2
[ "$sid" -gt 1 ] 2>/dev/null || exit 2
members() { ps -e -o sid=,stat=,pid= | awk -v s="$sid" '$1 == s && $2 !~ /^Z/ { print $3 }'; }
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
