/*
 * boxlab-sandbox: the native half of the namespaces driver.
 *
 * Node cannot fork into new namespaces, so this small program does the few
 * things that must happen between fork and exec. It holds no policy: the
 * TypeScript side (server/sandbox/namespaces/) decides the layout and hands it
 * over as a list of operations; this file only carries them out.
 *
 *   boxlab-sandbox create < spec
 *       Starts a sandbox. The calling process stays as its shim: it forks the
 *       sandbox's PID 1 into a new PID namespace, which runs the spec's
 *       operations (join cgroups, unshare, mount, pivot_root...), drops the
 *       capabilities and system calls no lesson needs, and then stays as a
 *       zombie-reaping init. The shim prints "ready <pid>" once the init is
 *       up and exits when it dies. SIGTERM/SIGINT/SIGHUP to the shim, or the
 *       death of the shim's parent, kill the init and with it every process
 *       of the sandbox (the kernel empties a PID namespace whose init dies).
 *
 *   boxlab-sandbox exec --pid PID --expect CGROUP [--cgroup PROCS]...
 *                       [--cwd DIR] [--session | --pty] -- ARGV...
 *       Runs ARGV inside the sandbox whose init is PID: joins its cgroups
 *       (before anything else, so no child escapes the limits), enters its
 *       namespaces, forks (a PID namespace applies to children only) and
 *       execs with the same hardening as the init. The environment is passed
 *       through unchanged. The parent forwards signals and exits with the
 *       child's status. With --session the child leads its own session and
 *       SIGTERM kills its whole process group (used for timeouts). With --pty
 *       the child gets a terminal of the sandbox's own devpts (so `tty`, `ps`
 *       and job control see a terminal of the sandbox, not a foreign one) and
 *       this process relays between it and its own standard input and output
 *       (the terminal the server gave it), passing on window size changes.
 *
 *   boxlab-sandbox devfilter DIR
 *       Attaches the block-devices-denied filter to a cgroup v2 directory
 *       (what the v1 devices controller does, for v2 hosts).
 *
 * Spec format: one operation per line, fields separated by single spaces,
 * each field percent-encoded (%20 for a space, %0A for a newline...).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <termios.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static const char *prog = "boxlab-sandbox";

static void die(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(125);
}

/* ---------- hardening shared by the init and every exec'd process ---------- */

/*
 * Capabilities removed from every sandbox process. The learner stays root with
 * what the lessons need (SYS_ADMIN for mounts and namespaces, NET_ADMIN,
 * NET_RAW, MKNOD, SETPCAP for capsh, SYS_PTRACE for nsenter...). What goes
 * reaches past the sandbox: module loading, raw I/O, the clock, the kernel log,
 * open_by_handle_at (the "shocker" escape), audit and MAC administration, BPF
 * and perf.
 */
static const int dropped_caps[] = {
    CAP_DAC_READ_SEARCH, CAP_LINUX_IMMUTABLE, CAP_SYS_MODULE,   CAP_SYS_RAWIO,
    CAP_SYS_PACCT,       CAP_SYS_BOOT,        CAP_SYS_TIME,     CAP_SYS_TTY_CONFIG,
    CAP_LEASE,           CAP_AUDIT_CONTROL,   CAP_MAC_OVERRIDE, CAP_MAC_ADMIN,
    CAP_SYSLOG,          CAP_WAKE_ALARM,      CAP_BLOCK_SUSPEND, CAP_AUDIT_READ,
#ifdef CAP_PERFMON
    CAP_PERFMON,
#endif
#ifdef CAP_BPF
    CAP_BPF,
#endif
#ifdef CAP_CHECKPOINT_RESTORE
    CAP_CHECKPOINT_RESTORE,
#endif
};

/*
 * System calls refused with EPERM. CAP_SYS_ADMIN alone would still allow
 * bpf (attaching programs to any cgroup v2 directory the learner can open),
 * the kernel keyring (not namespaced), perf and io_uring; none is needed by a
 * lesson.
 */
static const int denied_syscalls[] = {
    SYS_bpf,          SYS_perf_event_open, SYS_add_key,       SYS_keyctl,
    SYS_request_key,  SYS_kexec_load,      SYS_init_module,   SYS_finit_module,
    SYS_delete_module, SYS_open_by_handle_at, SYS_swapon,     SYS_swapoff,
    SYS_syslog,       SYS_acct,            SYS_settimeofday,  SYS_clock_settime,
    SYS_clock_adjtime, SYS_adjtimex,       SYS_userfaultfd,   SYS_quotactl,
#ifdef SYS_kexec_file_load
    SYS_kexec_file_load,
#endif
#ifdef SYS_io_uring_setup
    SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
#endif
#ifdef SYS_iopl
    SYS_iopl,
#endif
#ifdef SYS_ioperm
    SYS_ioperm,
#endif
#ifdef SYS_lookup_dcookie
    SYS_lookup_dcookie,
#endif
};

#if defined(__x86_64__)
#define BOXLAB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define BOXLAB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "boxlab-sandbox supports x86_64 and aarch64"
#endif

static int install_seccomp(void) {
  enum { N = sizeof(denied_syscalls) / sizeof(denied_syscalls[0]) };
  struct sock_filter f[N + 8];
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
  for (size_t k = 0; k < N; k++) {
    /* on a match jump to the EPERM return after the list */
    f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)denied_syscalls[k], (uint8_t)(N - k), 0);
    i++;
  }
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
  struct sock_fprog fprog = {.len = (unsigned short)i, .filter = f};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}

static int drop_capabilities(void) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) != 0) return -1;
  for (size_t k = 0; k < sizeof(dropped_caps) / sizeof(dropped_caps[0]); k++) {
    int c = dropped_caps[k];
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    data[c / 32].effective &= ~(1u << (c % 32));
    data[c / 32].permitted &= ~(1u << (c % 32));
    /* root's execve grants the inheritable set back: clear it there too */
    data[c / 32].inheritable &= ~(1u << (c % 32));
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return (int)syscall(SYS_capset, &hdr, data);
}

static int harden(void) {
  if (drop_capabilities() != 0) return -1;
  return install_seccomp();
}

/* ---------- cgroup v2 device filter ---------- */

struct devrule { uint32_t major; int64_t minor; /* -1: any */ };

/* The character devices a sandbox may open. Creating device nodes (mknod) of
 * any character device stays allowed; block devices are denied entirely, so
 * the host's disks can neither be created nor opened. Keep in step with
 * DEVICE_ALLOW in server/sandbox/cgroups.ts (the v1 equivalent). */
static const struct devrule allowed_devices[] = {
    {1, 3},  {1, 5},  {1, 7},  {1, 8}, {1, 9}, /* null zero full random urandom */
    {5, 0},  {5, 2},                            /* tty ptmx */
    {10, 200},                                  /* net/tun */
    {136, -1}, {137, -1}, {138, -1}, {139, -1}, /* pseudo-terminal slaves */
    {140, -1}, {141, -1}, {142, -1}, {143, -1},
};

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static int attach_device_filter(const char *dir) {
  enum { R = sizeof(allowed_devices) / sizeof(allowed_devices[0]) };
  struct bpf_insn p[16 + 4 * R];
  int n = 0;
  /* r2 = ctx->access_type (access << 16 | type); r4 = major; r5 = minor */
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0);
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
  p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 0xffff); /* r3 = type */
  p[n++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 16);     /* r2 = access */
  /* not a character device (a block device): deny, jumping over every rule */
  p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 3, 0, (int16_t)(3 + 4 * R), BPF_DEVCG_DEV_CHAR);
  /* mknod alone of a character device: allow */
  p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 2, BPF_DEVCG_ACC_MKNOD);
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
  p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (int k = 0; k < R; k++) {
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 3, (int32_t)allowed_devices[k].major);
    if (allowed_devices[k].minor < 0)
      p[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0);
    else
      p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 2, (int32_t)allowed_devices[k].minor);
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

/* ---------- spec operations ---------- */

static void percent_decode(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '%' && r[1] && r[2]) {
      char hex[3] = {r[1], r[2], 0};
      *w++ = (char)strtol(hex, NULL, 16);
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
}

static unsigned long mount_flags(const char *list) {
  static const struct { const char *name; unsigned long flag; } names[] = {
      {"ro", MS_RDONLY},     {"nosuid", MS_NOSUID},     {"nodev", MS_NODEV},
      {"noexec", MS_NOEXEC}, {"bind", MS_BIND},         {"rec", MS_REC},
      {"private", MS_PRIVATE}, {"slave", MS_SLAVE},     {"remount", MS_REMOUNT},
      {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME},
  };
  unsigned long flags = 0;
  if (strcmp(list, "-") == 0) return 0;
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", list);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    size_t k;
    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
      if (strcmp(tok, names[k].name) == 0) break;
    if (k == sizeof(names) / sizeof(names[0])) {
      errno = EINVAL;
      return (unsigned long)-1;
    }
    flags |= names[k].flag;
  }
  return flags;
}

static int unshare_flags(const char *list) {
  static const struct { const char *name; int flag; } names[] = {
      {"mnt", CLONE_NEWNS}, {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
      {"net", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP},
  };
  int flags = 0;
  char buf[128];
  snprintf(buf, sizeof(buf), "%s", list);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    size_t k;
    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
      if (strcmp(tok, names[k].name) == 0) break;
    if (k == sizeof(names) / sizeof(names[0])) return -1;
    flags |= names[k].flag;
  }
  return flags;
}

static int write_file(const char *path, const char *content, int oflags, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | oflags, mode);
  if (fd < 0) return -1;
  size_t len = strlen(content), off = 0;
  while (off < len) {
    ssize_t w = write(fd, content + off, len - off);
    if (w < 0) {
      int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
    off += (size_t)w;
  }
  return close(fd);
}

static int loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
  return rc;
}

static int pivot_into(const char *newroot) {
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it then
   * leaves nothing of the host reachable (the trick runc uses) */
  if (chdir(newroot) != 0) return -1;
  if (syscall(SYS_pivot_root, ".", ".") != 0) return -1;
  if (umount2(".", MNT_DETACH) != 0) return -1;
  return chdir("/");
}

/* Runs one spec line; returns 0, or -1 with errno set (EINVAL for a bad line). */
static int run_op(char **f, int n) {
  const char *op = f[0];
  errno = EINVAL;
  if (strcmp(op, "mount") == 0 && n == 6) {
    unsigned long flags = mount_flags(f[4]);
    if (flags == (unsigned long)-1) return -1;
    const char *src = strcmp(f[1], "-") == 0 ? NULL : f[1];
    const char *type = strcmp(f[3], "-") == 0 ? NULL : f[3];
    const char *data = strcmp(f[5], "-") == 0 ? NULL : f[5];
    /* a bind mount copies the source mount's flags (ro among them); the
     * flags asked for take effect only on a remount */
    if ((flags & MS_BIND) && !(flags & MS_REMOUNT)) {
      if (mount(src, f[2], type, flags & ~MS_RDONLY, data) != 0) return -1;
      return mount(NULL, f[2], NULL, flags | MS_REMOUNT, NULL);
    }
    return mount(src, f[2], type, flags, data);
  }
  if (strcmp(op, "mkdir") == 0 && n == 3) {
    if (mkdir(f[1], (mode_t)strtol(f[2], NULL, 8)) != 0 && errno != EEXIST) return -1;
    return chmod(f[1], (mode_t)strtol(f[2], NULL, 8));
  }
  if (strcmp(op, "mknod") == 0 && n == 6) {
    mode_t type = strcmp(f[2], "c") == 0 ? S_IFCHR : S_IFBLK;
    mode_t mode = (mode_t)strtol(f[5], NULL, 8);
    if (mknod(f[1], type | mode, makedev(atoi(f[3]), atoi(f[4]))) != 0) return -1;
    return chmod(f[1], mode); /* mknod applies the umask */
  }
  if (strcmp(op, "symlink") == 0 && n == 3) return symlink(f[1], f[2]);
  if (strcmp(op, "write") == 0 && n == 4)
    return write_file(f[1], f[3], O_CREAT | O_TRUNC, (mode_t)strtol(f[2], NULL, 8));
  if (strcmp(op, "echo") == 0 && n == 3) return write_file(f[1], f[2], 0, 0);
  if (strcmp(op, "join") == 0 && n == 2) {
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", getpid());
    return write_file(f[1], pid, 0, 0);
  }
  if (strcmp(op, "unshare") == 0 && n == 2) {
    int flags = unshare_flags(f[1]);
    if (flags < 0) return -1;
    return unshare(flags);
  }
  if (strcmp(op, "devfilter") == 0 && n == 2) return attach_device_filter(f[1]);
  if (strcmp(op, "hostname") == 0 && n == 2) return sethostname(f[1], strlen(f[1]));
  if (strcmp(op, "loopback") == 0 && n == 1) return loopback_up();
  if (strcmp(op, "pivot") == 0 && n == 2) return pivot_into(f[1]);
  return -1;
}

/* ---------- create: the shim and the init ---------- */

static volatile sig_atomic_t got_signal;
static void note_signal(int sig) { got_signal = sig; }

static void report(int fd, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (len > 0 && write(fd, buf, (size_t)(len < (int)sizeof(buf) ? len : (int)sizeof(buf) - 1)) < 0) {
    /* nothing more to tell anyone */
  }
}

static void close_fds_from(int lowest, int keep) {
  for (int fd = lowest; fd < 1024; fd++)
    if (fd != keep) close(fd);
}

static void become_init(void) __attribute__((noreturn));
static void become_init(void) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  /* A PID namespace's init receives only signals it has a handler for: give
   * SIGCHLD one so that orphans can be reaped. Everything else from inside the
   * sandbox is dropped (the learner cannot kill it); SIGKILL from the shim is
   * always delivered. */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = note_signal;
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  for (;;) {
    siginfo_t info;
    if (sigwaitinfo(&chld, &info) < 0 && errno != EINTR) pause();
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
  }
}

static int cmd_create(void) {
  /* read the whole spec first: the init cannot talk to us once it runs */
  size_t cap = 8192, len = 0;
  char *spec = malloc(cap);
  if (!spec) die("out of memory");
  for (;;) {
    if (len + 4096 > cap) {
      cap *= 2;
      spec = realloc(spec, cap);
      if (!spec) die("out of memory");
    }
    ssize_t r = read(0, spec + len, cap - len - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("reading the spec: %s", strerror(errno));
    if (r == 0) break;
    len += (size_t)r;
  }
  spec[len] = 0;

  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (unshare(CLONE_NEWPID) != 0) die("unshare(pid): %s", strerror(errno));
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));

  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(status_pipe[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int out = status_pipe[1];
    int lineno = 0;
    for (char *save = NULL, *line = strtok_r(spec, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      lineno++;
      if (!*line || line[0] == '#') continue;
      char copy[4096];
      snprintf(copy, sizeof(copy), "%s", line);
      char *f[8];
      int n = 0;
      for (char *s2 = NULL, *tok = strtok_r(line, " ", &s2); tok && n < 8; tok = strtok_r(NULL, " ", &s2)) {
        percent_decode(tok);
        f[n++] = tok;
      }
      if (n == 0) continue;
      if (run_op(f, n) != 0) {
        report(out, "spec line %d (%s): %s", lineno, copy, strerror(errno));
        _exit(1);
      }
    }
    if (harden() != 0) {
      report(out, "dropping privileges: %s", strerror(errno));
      _exit(1);
    }
    report(out, "ok");
    close(out);
    close_fds_from(0, -1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
    }
    if (setsid() < 0) { /* already a session leader is fine */ }
    become_init();
  }

  close(status_pipe[1]);
  free(spec);
  char msg[1100];
  ssize_t got = 0, r;
  while ((r = read(status_pipe[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0) got += r;
  msg[got > 0 ? got : 0] = 0;
  close(status_pipe[0]);
  if (strcmp(msg, "ok") != 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    die("%s", got > 0 ? msg : "the sandbox init died during setup");
  }

  /* wait for the init to die; a stop request (or our parent's death, see
   * PR_SET_PDEATHSIG above) kills it, which ends the whole PID namespace */
  sigset_t waitset;
  sigemptyset(&waitset);
  sigaddset(&waitset, SIGTERM);
  sigaddset(&waitset, SIGINT);
  sigaddset(&waitset, SIGHUP);
  sigaddset(&waitset, SIGCHLD);
  sigprocmask(SIG_BLOCK, &waitset, NULL);
  signal(SIGPIPE, SIG_IGN);
  printf("ready %d\n", child);
  fflush(stdout);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    close(null);
  }
  for (;;) {
    int st;
    if (waitpid(child, &st, WNOHANG) == child) return 0;
    siginfo_t info;
    int sig = sigwaitinfo(&waitset, &info);
    if (sig > 0 && sig != SIGCHLD) kill(child, SIGKILL);
  }
}

/* ---------- exec --pty: relay between the caller's terminal and one of the sandbox ---------- */

struct buf { char data[65536]; size_t len; };

/* Writes what it can of `b` to fd without blocking; returns -1 when fd is gone. */
static int flush_buf(int fd, struct buf *b) {
  while (b->len > 0) {
    ssize_t w = write(fd, b->data, b->len);
    if (w < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    memmove(b->data, b->data + w, b->len - (size_t)w);
    b->len -= (size_t)w;
  }
  return 0;
}

/* Reads what fits into `b`; returns bytes read, 0 at end of input, -1 on EAGAIN. */
static ssize_t fill_buf(int fd, struct buf *b) {
  ssize_t r = read(fd, b->data + b->len, sizeof(b->data) - b->len);
  if (r > 0) b->len += (size_t)r;
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return -1;
  return r < 0 ? 0 : r;
}

static int relay(int master, pid_t child, int sigfd) {
  static struct buf in, out;
  int outer_open = 1, child_done = 0, status = 0, after_exit = 0;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  for (;;) {
    struct pollfd p[4] = {
        {.fd = outer_open && in.len < sizeof(in.data) ? 0 : -1, .events = POLLIN},
        {.fd = master, .events = (short)((out.len < sizeof(out.data) ? POLLIN : 0) | (in.len ? POLLOUT : 0))},
        {.fd = out.len ? 1 : -1, .events = POLLOUT},
        {.fd = sigfd, .events = POLLIN},
    };
    /* once the child is gone, finish as soon as its last output is passed on */
    if (poll(p, 4, child_done ? 50 : -1) < 0 && errno != EINTR) break;
    if (p[3].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
          int st;
          if (waitpid(child, &st, WNOHANG) == child) {
            child_done = 1;
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          }
        } else if (si.ssi_signo == SIGWINCH) {
          struct winsize ws;
          if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
        } else if (si.ssi_signo == SIGHUP) {
          outer_open = 0; /* the terminal went away: hang up the sandbox's one too */
        } else {
          kill(child, (int)si.ssi_signo);
        }
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (fill_buf(0, &in) == 0) outer_open = 0;
    }
    if (!outer_open) break; /* closing the master sends SIGHUP to the sandbox's session */
    if (p[1].revents & POLLOUT) flush_buf(master, &in);
    ssize_t got = 1;
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) got = fill_buf(master, &out);
    if (out.len && flush_buf(1, &out) < 0) break;
    /* EIO (got 0): every process has closed the sandbox side */
    if (got == 0 && !out.len) break;
    /* after the shell exits, pass on what it wrote last, then end (even if a
     * background job still holds the terminal, as a terminal window would) */
    if (child_done && !out.len && (!(p[1].revents & POLLIN) || ++after_exit > 20)) break;
  }
  close(master);
  if (!child_done) {
    int st;
    if (waitpid(child, &st, 0) == child) status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status;
}

/* ---------- exec ---------- */

static int cmd_exec(int argc, char **argv) {
  pid_t pid = 0;
  const char *expect = NULL, *cwd = "/";
  const char *cgroups[16];
  int ncg = 0, session = 0, use_pty = 0, i;
  for (i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc) pid = atoi(argv[++i]);
    else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) expect = argv[++i];
    else if (strcmp(argv[i], "--cwd") == 0 && i + 1 < argc) cwd = argv[++i];
    else if (strcmp(argv[i], "--cgroup") == 0 && i + 1 < argc && ncg < 16) cgroups[ncg++] = argv[++i];
    else if (strcmp(argv[i], "--session") == 0) session = 1;
    else if (strcmp(argv[i], "--pty") == 0) use_pty = 1;
    else die("exec: unknown option %s", argv[i]);
  }
  if (pid <= 0 || !expect || i >= argc) die("usage: exec --pid PID --expect CGROUP [--cgroup PROCS]... [--cwd DIR] [--session | --pty] -- ARGV...");

  /* Make sure PID is still the sandbox's init, not a recycled number: hold a
   * pidfd, check its cgroup, open its namespaces, then check it is alive. */
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) die("the sandbox is gone (pid %d: %s)", pid, strerror(errno));
  char path[128], cg[4096];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? read(fd, cg, sizeof(cg) - 1) : -1;
  if (fd >= 0) close(fd);
  cg[got > 0 ? got : 0] = 0;
  if (!strstr(cg, expect)) die("pid %d is not the sandbox's init", pid);
  static const struct { const char *name; int type; } nss[] = {
      {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
      {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
  };
  int nsfd[6];
  for (int k = 0; k < 6; k++) {
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, nss[k].name);
    nsfd[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[k] < 0) die("opening %s: %s", path, strerror(errno));
  }
  if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0) die("the sandbox is gone");
  close(pidfd);

  for (int k = 0; k < ncg; k++)
    if (run_op((char *[]){"join", (char *)cgroups[k]}, 2) != 0) die("joining %s: %s", cgroups[k], strerror(errno));
  for (int k = 0; k < 6; k++) {
    if (setns(nsfd[k], nss[k].type) != 0) die("entering the %s namespace: %s", nss[k].name, strerror(errno));
    close(nsfd[k]);
  }

  /* the terminal, opened in the sandbox's own devpts (we are in its mount namespace now) */
  int master = -1;
  char slave[64] = "";
  if (use_pty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || unlockpt(master) != 0 || ptsname_r(master, slave, sizeof(slave)) != 0)
      die("opening a terminal in the sandbox: %s", strerror(errno));
    struct termios tio;
    struct winsize ws;
    if (tcgetattr(0, &tio) == 0) tcsetattr(master, TCSANOW, &tio);
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  }

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(errpipe[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (session || use_pty) setsid();
    int err = 0;
    if (use_pty) {
      /* a session leader opening a terminal makes it its controlling terminal */
      int fd = open(slave, O_RDWR);
      if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) != 0) err = errno;
      if (!err) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) close(fd);
      }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (!err && harden() != 0) err = errno;
    if (!err && chdir(cwd) != 0 && chdir("/") != 0) err = errno;
    if (!err) {
      execvp(argv[i], &argv[i]);
      err = errno;
    }
    if (write(errpipe[1], &err, sizeof(err)) < 0) { /* the parent reports 127 anyway */ }
    _exit(127);
  }
  close(errpipe[1]);
  int err = 0;
  if (read(errpipe[0], &err, sizeof(err)) == (ssize_t)sizeof(err) && err)
    fprintf(stderr, "boxlab: %s: %s\n", argv[i], strerror(err));
  close(errpipe[0]);

  if (use_pty) {
    /* our own terminal passes bytes through untouched: the sandbox's does the line discipline */
    struct termios raw;
    if (tcgetattr(0, &raw) == 0) {
      cfmakeraw(&raw);
      tcsetattr(0, TCSANOW, &raw);
    }
    sigset_t relayed;
    sigemptyset(&relayed);
    static const int relayed_signals[] = {SIGCHLD, SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT};
    for (size_t k = 0; k < sizeof(relayed_signals) / sizeof(relayed_signals[0]); k++) sigaddset(&relayed, relayed_signals[k]);
    int sigfd = signalfd(-1, &relayed, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) die("signalfd: %s", strerror(errno));
    int status = relay(master, child, sigfd);
    return err ? (err == EACCES ? 126 : 127) : status;
  }

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int st;
      pid_t w = waitpid(child, &st, WNOHANG);
      if (w == child) {
        if (WIFEXITED(st)) return err ? (err == EACCES ? 126 : 127) : WEXITSTATUS(st);
        return 128 + WTERMSIG(st);
      }
      continue;
    }
    if (session && sig == SIGTERM) kill(-child, SIGKILL);
    else if (sig != SIGPIPE && sig != SIGTTOU && sig != SIGTTIN && sig != SIGTSTP) kill(session ? -child : child, sig);
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "create") == 0) return cmd_create();
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return cmd_exec(argc, argv);
  if (argc == 3 && strcmp(argv[1], "devfilter") == 0) {
    if (attach_device_filter(argv[2]) != 0) die("attaching the device filter to %s: %s", argv[2], strerror(errno));
    return 0;
  }
  fprintf(stderr, "usage: %s create < spec | exec ... -- argv | devfilter DIR\n", prog);
  return 2;
}
