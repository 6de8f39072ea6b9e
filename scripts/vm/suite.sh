#!/bin/bash
# The suite the test VM runs (inside it, from /boxlab): the sandbox engine and
# security tests against a real cgroup-v2 hierarchy (their cgroup tests twice), and the cgroups
# and copy-on-write lessons verified twice. Ends with "N passed, M failed" and its exit status.
# Arguments (from `npm run test:vm -- ...`) replace the test files.
cd "$(dirname "$0")/../.."
export CI=true BOXLAB_TEST_DOCKER=0 NO_COLOR=1
# the guest is software-emulated: timeouts scale, for this run only
export BOXLAB_TEST_TIME_SCALE=${BOXLAB_TEST_TIME_SCALE:-4}
# BOXLAB_VM_SHELL='command' npm run test:vm: that command instead (for a look inside)
if [ -s .vm-shell ]; then bash .vm-shell; exit $?; fi
args=$(cat .vm-args 2>/dev/null)
# shellcheck disable=SC2086
# by default what proves the v2 paths: the sandbox engine (limits, delegation, the device filter), the
# security suite's cgroup, device and kernel walls and its limits, the checks out of the learner's reach,
# the probe; left out (server-level, no cgroup code): security/server, learners, exec-path
set -- ${args:-test/sandbox test/security/limits.test.ts test/security/escapes.test.ts test/security/policy.test.ts test/security/checks.test.ts test/checks/probe.test.ts}
lessons=$(cat .vm-lessons 2>/dev/null)
started=$(date +%s)
node node_modules/vitest/vitest.mjs run "$@"
status=$?
echo "vm-suite: vitest took $(( $(date +%s) - started )) s"
reports=test-results/vitest.json
if [ -z "$args" ]; then
  # the sandbox's limits, proven twice as the lessons are: the cgroup tests of the sandbox and
  # limits suites once more (the namespace bounds are user-namespace counts, not cgroup code)
  started=$(date +%s)
  echo "vm-suite: the sandbox's limits, run 2"
  node node_modules/vitest/vitest.mjs run test/sandbox/sandbox.test.ts test/security/limits.test.ts \
    -t 'cgroup|processes, memory and disk|fork bomb|limit memory|own limits|against the limits|disk filler|for the CPU' \
    --outputFile.json=test-results/vitest-again.json || status=1
  reports="$reports test-results/vitest-again.json"
  echo "vm-suite: limits run 2 took $(( $(date +%s) - started )) s"
fi
verify_failed=0
verify_passed=0
for lesson in $lessons; do
  for run in 1 2; do
    t=$(date +%s)
    echo "vm-suite: boxlab verify $lesson, run $run"
    if node bin/boxlab.js verify "$lesson"; then verify_passed=$((verify_passed + 1)); else verify_failed=$((verify_failed + 1)); fi
    echo "vm-suite: verify $lesson run $run took $(( $(date +%s) - t )) s"
  done
done
[ "$verify_failed" -eq 0 ] || status=1
# what the guest's kernel killed, if anything (a test's process that died of a signal, explained)
dmesg 2>/dev/null | grep -iE 'out of memory|oom-kill|killed process' | tail -n 20 | sed 's/^/vm-suite: kernel: /'
node -e '
  const fs = require("fs");
  const [vp, vf, ...files] = process.argv.slice(1);
  let passed = Number(vp), failed = Number(vf);
  for (const file of files) {
    if (!fs.existsSync(file)) { console.log(`vm-suite: no test report ${file} was written`); failed++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    // a file that failed to load counts as a failure too
    const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    passed += r.numPassedTests; failed += r.numFailedTests + broken;
  }
  console.log(`${passed} passed, ${failed} failed`);
' "$verify_passed" "$verify_failed" $reports
exit $status
