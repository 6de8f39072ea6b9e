/*
 * The policy every sandbox process runs under (server/sandbox/policy.ts,
 * compiled in as policy.h): capabilities taken away, system calls refused,
 * and, on cgroup v2 hosts, the devices a sandbox may open.
 */
#include "helper.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "policy.h"

#if defined(__x86_64__)
#define BOXLAB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define BOXLAB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "boxlab-sandbox supports x86_64 and aarch64"
#endif

static int install_seccomp(void) {
  const size_t D = policy_denied_syscalls_count, A = policy_absent_syscalls_count, N = D + A;
  struct sock_filter f[256];
  if (N + 9 > sizeof(f) / sizeof(f[0])) { errno = E2BIG; return -1; }
  size_t i = 0;
  f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  /* another architecture's calling convention would bypass the numbers below */
  f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BOXLAB_AUDIT_ARCH, 1, 0);
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
  /* the x32 ABI numbers system calls from 0x40000000 */
  f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, N + 1, 0);
#endif
  /* after the list: ALLOW, then the EPERM return, then the ENOSYS return */
  for (size_t k = 0; k < N; k++) {
    uint32_t nr = (uint32_t)(k < D ? policy_denied_syscalls[k] : policy_absent_syscalls[k - D]);
    f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, (uint8_t)(N - k + (k < D ? 0 : 1)), 0);
    i++;
  }
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
  struct sock_fprog fprog = {.len = (unsigned short)i, .filter = f};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}

static int drop_capabilities(void) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) != 0) return -1;
  for (size_t k = 0; k < policy_dropped_caps_count; k++) {
    int c = policy_dropped_caps[k];
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    data[c / 32].effective &= ~(1u << (c % 32));
    data[c / 32].permitted &= ~(1u << (c % 32));
    /* root's execve grants the inheritable set back: clear it there too */
    data[c / 32].inheritable &= ~(1u << (c % 32));
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return (int)syscall(SYS_capset, &hdr, data);
}

int harden(void) {
  if (drop_capabilities() != 0) return -1;
  return install_seccomp();
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

int attach_device_filter(const char *dir) {
  const int R = (int)policy_devices_count;
  struct bpf_insn p[16 + 4 * 64];
  if (R > 64) { errno = E2BIG; return -1; }
  int n = 0;
  /* r2 = ctx->access_type (access << 16 | type); r4 = major; r5 = minor */
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0);
  p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff); /* r2 = type */
  /* not a character device (a block device): deny, jumping over every rule */
  p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, (int16_t)(4 * R), BPF_DEVCG_DEV_CHAR);
  for (int k = 0; k < R; k++) {
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 3, (int32_t)policy_devices[k].major);
    if (policy_devices[k].minor < 0)
      p[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0);
    else
      p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 2, (int32_t)policy_devices[k].minor);
    p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
    p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
  p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

  union bpf_attr load;
  memset(&load, 0, sizeof(load));
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)p;
  load.insn_cnt = (uint32_t)n;
  load.license = (uint64_t)(uintptr_t) "GPL";
  int prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
  if (prog_fd < 0) return -1;
  int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return -1;
  union bpf_attr attach;
  memset(&attach, 0, sizeof(attach));
  attach.target_fd = (uint32_t)dir_fd;
  attach.attach_bpf_fd = (uint32_t)prog_fd;
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach));
  int saved = errno;
  close(dir_fd);
  close(prog_fd); /* the cgroup keeps the program alive */
  errno = saved;
  return rc;
}
