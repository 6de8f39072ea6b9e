# Wraps every command the docker driver runs in a sandbox, run as
#   sh -c "<this script>" boxlab-exec COLSxROWS|- COMMAND [ARG...]
# runc starts an exec in the container's own cgroup (cgroup v1), above the
# learner's; this moves it into the learner's, where the namespaces driver
# runs it too. Every exec leads a session of its own (runc makes it so): its
# pid is printed first, for the driver to end the whole session later.
c=/sys/fs/cgroup
if [ -e $c/cgroup.controllers ]; then
  echo $$ > $c/init/cgroup.procs
else
  for f in $c/*/cgroup.procs; do echo $$ > "$f"; done
fi 2>/dev/null
size=$1
shift
[ "$size" = - ] || stty cols "${size%x*}" rows "${size#*x}" 2>/dev/null
echo "boxlab-pid $$"
exec "$@"
