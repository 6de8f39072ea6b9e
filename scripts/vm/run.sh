#!/usr/bin/env bash
# npm run test:vm [-- test files]: boots the cgroup-v2 test VM (scripts/vm/build.sh
# builds or reuses it) and runs scripts/vm/suite.sh inside it, its console streamed
# here. Exits with the guest's status; a VM that outlives BOXLAB_VM_TIMEOUT
# seconds (default 2400) is killed by its pid. Ends with the suite's "N passed, M failed".
#   BOXLAB_VM_ACCEL   tcg (default), or auto: KVM if a probe boot answers within 20 s, else tcg
#   BOXLAB_VM_LESSONS lessons verified twice (default 02-cgroups 03-copy-on-write: the cgroups, and an
#                     exercise the 6.1 kernel cannot run, skipped with its reason)
#   BOXLAB_VM_MEMORY  guest memory (default 6G: the server's capacity is what memory holds, and the
#                     security suite's servers need more than 5 sandboxes at once)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
DATA=${BOXLAB_DATA_DIR:-/var/lib/boxlab}
TIMEOUT=${BOXLAB_VM_TIMEOUT:-2400}
ACCEL=${BOXLAB_VM_ACCEL:-tcg}
t0=$(date +%s)
cd "$repo"
node scripts/build.mjs >/dev/null || { echo "vm: build failed"; echo "0 passed, 1 failed"; exit 1; }
t_build=$(date +%s)

work=$(mktemp -d "$DATA/vm/run.XXXXXX" 2>/dev/null || { mkdir -p "$DATA/vm"; mktemp -d "$DATA/vm/run.XXXXXX"; })
qemu_pid=""
watchdog_pid=""
cleanup() {
  [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export BOXLAB_VM_ARGS="$*" BOXLAB_VM_LESSONS_LIST="${BOXLAB_VM_LESSONS-02-cgroups 03-copy-on-write}"
out=$("$here/build.sh" --tree "$work/tree.img") || { echo "vm: building the VM failed"; echo "0 passed, 1 failed"; exit 1; }
read -r vmdir initrd rootfs_img rootfs_key <<<"$(tail -n1 <<<"$out")"
t_image=$(date +%s)
echo "vm: images ready in $((t_image - t_build)) s ($(cat "$vmdir/kernel.txt"))"

# runs qemu with the VM's disks; $1 accel, $2 kernel command line extra, $3 log; sets qemu_pid
start_qemu() {
  qemu-system-x86_64 -machine q35 -accel "$1" -cpu max -smp 2 -m "${BOXLAB_VM_MEMORY:-6G}" \
    -display none -monitor none -serial stdio -nic none -no-reboot \
    -kernel "$vmdir/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all boxlab.rootfs=$rootfs_key $2" \
    -drive "file=$vmdir/system.img,format=raw,if=virtio,snapshot=on" \
    -drive "file=$rootfs_img,format=raw,if=virtio,readonly=on" \
    -drive "file=$work/tree.img,format=raw,if=virtio" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$3" 2>&1 &
  qemu_pid=$!
  echo "$qemu_pid" > "$work/qemu.pid"
}

accel=tcg,thread=multi
if [ "$ACCEL" = auto ] && [ -w /dev/kvm ]; then
  # nested guests may hang under KVM: a probe boot (the initramfs only) must answer quickly
  start_qemu kvm boxlab.probe "$work/probe.log"
  for _ in $(seq 40); do grep -q BOXLAB-VM-PROBE-OK "$work/probe.log" && break; kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.5; done
  if grep -q BOXLAB-VM-PROBE-OK "$work/probe.log"; then accel=kvm; fi
  kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null; qemu_pid=""
  echo "vm: KVM probe: $([ "$accel" = kvm ] && echo answered, using KVM || echo no answer within 20 s, using TCG)"
fi
[ "$ACCEL" = kvm ] && accel=kvm

echo "vm: booting ($accel, 2 vCPUs, timeout ${TIMEOUT} s)"
log="$work/console.log"
: > "$log"
start_qemu "$accel" "" "$log"
t_boot=$(date +%s)
# the timeout: a sleep of this shell's own, away from its output (a watchdog subshell's sleep
# outlived it, holding the pipe of whoever read this script's output until the timeout)
sleep "$TIMEOUT" </dev/null >/dev/null 2>&1 &
watchdog_pid=$!
# the console, as it comes (the guest writes CRLF)
tail -n +1 -F "$log" --pid="$qemu_pid" 2>/dev/null | sed -u 's/\r$//' &
tail_pid=$!
wait -n -p ended "$qemu_pid" "$watchdog_pid"
qemu_status=$?
if [ "$ended" = "$watchdog_pid" ]; then
  echo "vm: timed out after $TIMEOUT s, killing qemu $qemu_pid"
  kill "$qemu_pid" 2>/dev/null
  wait "$qemu_pid"
  qemu_status=$?
else
  kill "$watchdog_pid" 2>/dev/null
  wait "$watchdog_pid" 2>/dev/null
fi
qemu_pid=""
watchdog_pid=""
wait "$tail_pid" 2>/dev/null
t_end=$(date +%s)

marker=$(tr -d '\r' < "$log" | sed -n 's/^BOXLAB-VM-EXIT \([0-9]*\)$/\1/p' | tail -n1)
summary=$(tr -d '\r' < "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
up=$(tr -d '\r' < "$log" | sed -n 's/^guest: up in \([0-9.]*\) s.*/\1/p')
# the report, for whoever wants it (CI artifacts)
mkdir -p test-results
for r in vitest vitest-again; do debugfs -R "dump /test-results/$r.json test-results/vm-$r.json" "$work/tree.img" >/dev/null 2>&1 || true; done
echo "vm: image $((t_image - t_build)) s, boot to init ${up:-?} s, suite $((t_end - t_boot)) s, total $((t_end - t0)) s"
if [ -z "$marker" ]; then
  echo "vm: the guest ended without a status (qemu exit $qemu_status)"
  echo "${summary:+vm: last summary: $summary; }0 passed, 1 failed" | sed 's/.*; //'
  exit 1
fi
# isa-debug-exit ends qemu with (status << 1) | 1: both must agree
if [ "$qemu_status" -ne $(( (marker << 1) | 1 )) ]; then echo "vm: qemu exit $qemu_status does not match the guest's status $marker"; fi
[ -n "$summary" ] || summary="0 passed, 1 failed"
echo "$summary"
[ "$marker" -eq 0 ] || exit "$marker"
exit 0
