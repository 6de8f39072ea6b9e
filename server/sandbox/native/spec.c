/*
 * The operations of a spec. A spec is one operation per line, fields separated
 * by single spaces, each field percent-encoded (%20 a space, %0A a newline).
 * The sandbox's shim runs the lines up to "fork-init" as host root; its init
 * runs the rest (see create.c). "@root" in a mount's data, and the ids of
 * chown, name the sandbox's own root, whichever host ids it leased.
 */
#include "helper.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

struct sandbox_ids ids = {0, 0};
int ns_user = -1, ns_net = -1, ns_uts = -1, ns_ipc = -1, ns_cgroup = -1;
/* the cgroup namespace the shim started in (the host's, or a container's) */
static int ns_host_cgroup = -1;
static int lease_fd = -1;
/* A proc mount whose /sys/user is writable (a container's /proc/sys is read-only). */
static char sysctl_proc[512] = "/proc";
/* What an operation of several steps was doing when it failed, for the report. */
static const char *step;

void die(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", PROG);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(HELPER_FAILED);
}

int write_file(const char *path, const char *content, int oflags, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | oflags, mode);
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

void close_fds_from(int lowest, int keep) {
  if (keep < 0 && syscall(SYS_close_range, (unsigned)lowest, ~0u, 0) == 0) return;
  for (int fd = lowest; fd < 65536; fd++)
    if (fd != keep) close(fd);
}

extern char **environ;

void conceal(int argc, char **argv, const char *name) {
  /* /proc/PID/cmdline and environ read this memory: nothing of the server's paths or settings stays there */
  if (argc > 0) {
    char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
    for (char **e = environ; e && *e; e++)
      if (*e == end + 1) end = *e + strlen(*e);
    memset(start, 0, (size_t)(end - start));
    snprintf(start, (size_t)(end - start) + 1, "%s", name);
  }
  prctl(PR_SET_NAME, name, 0, 0, 0);
}

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

/* "uid=@root,gid=@root+5" -> "uid=1879048192,gid=1879048197": the sandbox's ids as the host numbers them */
static const char *with_ids(const char *data, char *buf, size_t size) {
  const char *at = strstr(data, "@root");
  if (!at) return data;
  size_t out = 0;
  for (const char *r = data; *r && out + 16 < size;) {
    if (strncmp(r, "@root", 5) == 0) {
      char *end;
      unsigned long plus = r[5] == '+' ? strtoul(r + 6, &end, 10) : 0;
      out += (size_t)snprintf(buf + out, size - out, "%lu", (unsigned long)ids.base + plus);
      r = r[5] == '+' ? end : r + 5;
    } else {
      buf[out++] = *r++;
    }
  }
  buf[out] = 0;
  return buf;
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

/* A read-only, nodev view of `src` whose owners are the learner's: host root's files become the sandbox root's. */
static int mount_idmapped(const char *src, const char *target) {
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return -1;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, .userns_fd = (uint64_t)ns_user};
  int rc = (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
  if (rc == 0) rc = (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
  int saved = errno;
  close(tree);
  errno = saved;
  return rc;
}

/* Takes the first free block of host ids under `dir`: a lock held for the sandbox's whole life (by its shim). */
static int lease(const char *dir, uint32_t first, uint32_t blocks, uint32_t size) {
  char parents[4096];
  snprintf(parents, sizeof(parents), "%s", dir);
  for (char *slash = strchr(parents + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
    *slash = 0;
    if (mkdir(parents, 0755) != 0 && errno != EEXIST) return -1;
    *slash = '/';
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
  uint32_t start = 0;
  if (getrandom(&start, sizeof(start), 0) != sizeof(start)) start = (uint32_t)getpid();
  for (uint32_t k = 0; k < blocks; k++) {
    uint32_t block = (start + k) % blocks;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%u", dir, block);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      lease_fd = fd;
      ids.base = first + block * size;
      ids.size = size;
      return 0;
    }
    close(fd);
  }
  errno = EUSERS;
  return -1;
}

static int write_map(pid_t pid, const char *which, uint32_t inside, uint32_t outside, uint32_t count) {
  char path[64], map[64];
  snprintf(path, sizeof(path), "/proc/%d/%s_map", pid, which);
  snprintf(map, sizeof(map), "%u %u %u\n", inside, outside, count);
  return write_file(path, map, 0, 0);
}

static int become_root_here(void) {
  if (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) return -1;
  /* a changed identity makes a process undumpable, its /proc files host root's: its parent writes its child's maps */
  return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

int become_learner_root(int userns_fd) {
  if (setns(userns_fd, CLONE_NEWUSER) != 0) return -1;
  if (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) return -1;
  return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int send_byte(int fd, char c) { return write(fd, &c, 1) == 1 ? 0 : -1; }
static int wait_byte(int fd, char want) {
  char c;
  ssize_t r;
  while ((r = read(fd, &c, 1)) < 0 && errno == EINTR) {
  }
  if (r == 1 && c == want) return 0;
  errno = ECHILD;
  return -1;
}

/*
 * The sandbox's user namespaces and the namespaces they own. The outer one
 * maps the whole leased block, owned by the block's first id (so its kernel
 * objects count against that id, not host root's); `limits` (name=value,...)
 * bounds them there, out of the learner's reach. The learner's, inside it,
 * maps all but the last id (the checker's) onto the same ids. A holder in it,
 * moved first into the cgroups listed (the root of the sandbox's cgroup
 * namespace), makes its network, UTS, IPC and cgroup namespaces; the shim
 * keeps them by descriptor and joins them.
 */
static int make_namespaces(const char *limits, char **procs, int nprocs) {
  if (ids.size < 2) { errno = EINVAL; return -1; }
  int to_outer[2], from_outer[2];
  if (pipe2(to_outer, O_CLOEXEC) != 0 || pipe2(from_outer, O_CLOEXEC) != 0) return -1;
  pid_t outer = fork();
  if (outer < 0) return -1;
  if (outer == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* moved into the cgroups first, while it still has our credentials (the kernel checks them against the mover's) */
    if (wait_byte(to_outer[0], 'c')) _exit(10);
    /* the owner of a user namespace is the effective uid that makes it; keep every capability meanwhile */
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct caps[2];
    if (setresuid((uid_t)-1, ids.base, (uid_t)-1) != 0) _exit(11);
    if (syscall(SYS_capget, &hdr, caps) != 0) _exit(12);
    caps[0].effective = caps[0].permitted;
    caps[1].effective = caps[1].permitted;
    if (syscall(SYS_capset, &hdr, caps) != 0) _exit(13);
    if (unshare(CLONE_NEWUSER) != 0) _exit(14);
    if (send_byte(from_outer[1], 'u') || wait_byte(to_outer[0], 'm')) _exit(15);
    if (become_root_here()) _exit(16);
    for (char *save = NULL, *kv = strtok_r((char *)limits, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(kv, '=');
      if (!eq) continue;
      *eq = 0;
      char path[640];
      snprintf(path, sizeof(path), "%s/sys/user/%s", sysctl_proc, kv);
      if (access(path, F_OK) == 0 && write_file(path, eq + 1, 0, 0) != 0) _exit(17);
    }
    int to_inner[2], from_inner[2];
    if (pipe2(to_inner, O_CLOEXEC) != 0 || pipe2(from_inner, O_CLOEXEC) != 0) _exit(18);
    pid_t inner = fork();
    if (inner < 0) _exit(18);
    if (inner == 0) {
      close(from_inner[0]);
      close(to_inner[1]);
      if (unshare(CLONE_NEWUSER) != 0 || send_byte(from_inner[1], 'u') || wait_byte(to_inner[0], 'm') || become_root_here()) _exit(1);
      if (unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP) != 0) _exit(1);
      send_byte(from_inner[1], 'n');
      pause();
      _exit(0);
    }
    close(from_inner[1]);
    close(to_inner[0]);
    if (wait_byte(from_inner[0], 'u')) _exit(19);
    if (write_map(inner, "uid", 0, 0, ids.size - 1) || write_map(inner, "gid", 0, 0, ids.size - 1)) _exit(20);
    if (send_byte(to_inner[1], 'm') || wait_byte(from_inner[0], 'n')) _exit(21);
    char msg[16];
    int len = snprintf(msg, sizeof(msg), "%d\n", inner);
    if (write(from_outer[1], msg, (size_t)len) != len) _exit(22);
    pause();
    _exit(0);
  }
  /* our copies of the holder's ends: its death must read as the end of its pipe */
  close(to_outer[0]);
  close(from_outer[1]);
  to_outer[0] = from_outer[1] = -1;
  int rc = -1;
  pid_t inner = 0;
  char buf[32] = {0};
  /* the holders join the cgroup namespace's root before they make it */
  step = "moving the namespaces' holder into the learner's cgroups";
  for (int k = 0; k < nprocs; k++) {
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", outer);
    if (write_file(procs[k], pid, 0, 0) != 0) goto out;
  }
  if (send_byte(to_outer[1], 'c') != 0) goto out;
  step = "making the outer user namespace";
  if (wait_byte(from_outer[0], 'u') != 0) goto out;
  step = "writing the outer user namespace's id maps";
  if (write_map(outer, "uid", 0, ids.base, ids.size) || write_map(outer, "gid", 0, ids.base, ids.size)) goto out;
  step = "making the learner's user namespace and the namespaces it owns";
  if (send_byte(to_outer[1], 'm') != 0) goto out;
  ssize_t got = 0, r;
  while (got < (ssize_t)sizeof(buf) - 1 && (r = read(from_outer[0], buf + got, 1)) == 1 && buf[got] != '\n') got++;
  inner = (pid_t)atoi(buf);
  if (inner <= 0) { errno = ECHILD; goto out; }
  char path[64];
  struct { const char *name; int *fd; pid_t of; } nss[] = {
      {"user", &ns_user, inner}, {"net", &ns_net, inner},
      {"uts", &ns_uts, inner}, {"ipc", &ns_ipc, inner}, {"cgroup", &ns_cgroup, inner},
  };
  for (size_t k = 0; k < sizeof(nss) / sizeof(nss[0]); k++) {
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", nss[k].of, nss[k].name);
    *nss[k].fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*nss[k].fd < 0) goto out;
  }
  rc = 0;
  step = NULL;
out:;
  int saved = errno;
  if (inner > 0) kill(inner, SIGKILL);
  kill(outer, SIGKILL);
  int st = 0;
  waitpid(outer, &st, 0);
  /* the step of the holder's that failed, by its exit status (see above) */
  static char why[160];
  if (rc != 0 && WIFEXITED(st) && WEXITSTATUS(st) >= 10) {
    static const char *steps[] = {"waiting to be moved", "taking the owner's uid", "reading its capabilities", "keeping its capabilities",
                                  "making the outer user namespace", "waiting for its id maps", "becoming its root", "setting its limits (/proc/sys/user)",
                                  "forking the inner holder", "making the learner's user namespace", "writing its id maps", "making the namespaces it owns", "reporting"};
    int k = WEXITSTATUS(st) - 10;
    snprintf(why, sizeof(why), "the namespaces' holder failed %s", k < (int)(sizeof(steps) / sizeof(steps[0])) ? steps[k] : "");
    step = why;
  }
  /* the inner holder, orphaned, came back to us (a subreaper): reap it too, so the cgroup is empty */
  if (inner > 0) waitpid(inner, NULL, 0);
  close(to_outer[1]);
  close(from_outer[0]);
  errno = saved;
  if (rc == 0) {
    step = "joining the sandbox's namespaces";
    /* kept to come back to: see the "cgroupns" operation */
    ns_host_cgroup = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
    if (ns_host_cgroup < 0) return -1;
    int joins[] = {ns_net, ns_uts, ns_ipc, ns_cgroup};
    for (size_t k = 0; k < 4; k++)
      if (setns(joins[k], 0) != 0) return -1;
    step = NULL;
  }
  return rc;
}

/* cgroup v2: enables for DIR's children those of `wanted` that DIR has. */
static int enable_controllers(const char *dir, char **wanted, int n) {
  char path[4096], have[1024] = "", list[1024] = "";
  snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t got = read(fd, have, sizeof(have) - 2);
  close(fd);
  if (got < 0) return -1;
  have[got] = 0;
  for (char *c = have; *c; c++)
    if (*c == '\n') *c = ' ';
  size_t used = 0;
  for (int k = 0; k < n; k++) {
    char key[64];
    snprintf(key, sizeof(key), " %s ", wanted[k]);
    char padded[1030];
    snprintf(padded, sizeof(padded), " %s ", have);
    if (strstr(padded, key)) used += (size_t)snprintf(list + used, sizeof(list) - used, "%s+%s", used ? " " : "", wanted[k]);
  }
  if (!used) return 0;
  snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
  return write_file(path, list, 0, 0);
}

int run_op(char **f, int n) {
  const char *op = f[0];
  errno = EINVAL;
  if (strcmp(op, "mount") == 0 && n == 6) {
    unsigned long flags = mount_flags(f[4]);
    if (flags == (unsigned long)-1) return -1;
    const char *src = strcmp(f[1], "-") == 0 ? NULL : f[1];
    const char *type = strcmp(f[3], "-") == 0 ? NULL : f[3];
    char data_buf[1024];
    const char *data = strcmp(f[5], "-") == 0 ? NULL : with_ids(f[5], data_buf, sizeof(data_buf));
    /* a bind mount copies the source mount's flags (ro among them); the
     * flags asked for take effect only on a remount */
    if ((flags & MS_BIND) && !(flags & MS_REMOUNT)) {
      if (mount(src, f[2], type, flags & ~MS_RDONLY, data) != 0) return -1;
      return mount(NULL, f[2], NULL, flags | MS_REMOUNT, NULL);
    }
    return mount(src, f[2], type, flags, data);
  }
  if (strcmp(op, "mount-idmapped") == 0 && n == 3) return mount_idmapped(f[1], f[2]);
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
  /* a setting this kernel may not have (memory.swap.max without swap accounting) */
  if (strcmp(op, "echo-if") == 0 && n == 3) return access(f[1], F_OK) == 0 ? write_file(f[1], f[2], 0, 0) : 0;
  if (strcmp(op, "enable-controllers") == 0 && n >= 2) return enable_controllers(f[1], f + 2, n - 2);
  if (strcmp(op, "chown") == 0 && n == 4)
    return lchown(f[1], ids.base + (uid_t)atol(f[2]), ids.base + (gid_t)atol(f[3]));
  if (strcmp(op, "chdir") == 0 && n == 2) return chdir(f[1]);
  if (strcmp(op, "join") == 0 && n == 2) return write_file(f[1], "0", 0, 0);
  /* "host": back to the cgroup namespace the shim started in; "sandbox": into the sandbox's. On a v2
   * hierarchy mounted with nsdelegate (systemd's way) a process may move itself only between cgroups
   * its cgroup namespace sees: PID 1 joins its cgroups from the host's namespace, then enters its own. */
  if (strcmp(op, "cgroupns") == 0 && n == 2 && strcmp(f[1], "host") == 0) return setns(ns_host_cgroup, CLONE_NEWCGROUP);
  if (strcmp(op, "cgroupns") == 0 && n == 2 && strcmp(f[1], "sandbox") == 0) return setns(ns_cgroup, CLONE_NEWCGROUP);
  if (strcmp(op, "lease") == 0 && n == 5)
    return lease(f[1], (uint32_t)strtoul(f[2], NULL, 10), (uint32_t)strtoul(f[3], NULL, 10), (uint32_t)strtoul(f[4], NULL, 10));
  if (strcmp(op, "namespaces") == 0 && n >= 2) return make_namespaces(f[1], f + 2, n - 2);
  if (strcmp(op, "sysctl-proc") == 0 && n == 2) return snprintf(sysctl_proc, sizeof(sysctl_proc), "%s", f[1]) < (int)sizeof(sysctl_proc) ? 0 : -1;
  /* the shim's mount namespace, host root's; and PID 1's own before it pivots: pivot_root moves every process of the namespace */
  if (strcmp(op, "unshare-mnt") == 0 && n == 1) return unshare(CLONE_NEWNS);
  /* for children only: the next fork is the sandbox's init */
  if (strcmp(op, "unshare-pid") == 0 && n == 1) return unshare(CLONE_NEWPID);
  if (strcmp(op, "devfilter") == 0 && n == 2) return attach_device_filter(f[1]);
  if (strcmp(op, "guard") == 0 && n >= 4) return guard_configure(atoi(f[1]), atoi(f[2]), f + 3, n - 3);
  if (strcmp(op, "teardown") == 0 && n >= 2) return teardown_configure(f + 1, n - 1);
  if (strcmp(op, "pivot") == 0 && n == 2) return pivot_into(f[1]);
  if (strcmp(op, "become-root") == 0 && n == 1) return become_learner_root(ns_user);
  /* a mount namespace of the learner's own: a copy of this one, whose mounts they can neither remount nor uncover */
  if (strcmp(op, "lock") == 0 && n == 1) return unshare(CLONE_NEWNS);
  if (strcmp(op, "hostname") == 0 && n == 2) return sethostname(f[1], strlen(f[1]));
  if (strcmp(op, "loopback") == 0 && n == 1) return loopback_up();
  return -1;
}

static void report_line(int fd, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (fd >= 0 && len > 0 && write(fd, buf, (size_t)(len < (int)sizeof(buf) ? len : (int)sizeof(buf) - 1)) < 0) {
    /* nobody to tell */
  }
}

#define MAX_FIELDS 40

int run_spec(char **cursor, const char *stop, int report_fd) {
  size_t stop_len = stop ? strlen(stop) : 0;
  while (*cursor && **cursor) {
    char *line = *cursor;
    if (stop && strncmp(line, stop, stop_len) == 0 && (line[stop_len] == ' ' || line[stop_len] == '\n' || !line[stop_len])) return 0;
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    *cursor = nl ? nl + 1 : line + strlen(line);
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", line);
    char *f[MAX_FIELDS];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(line, " ", &save); tok && n < MAX_FIELDS; tok = strtok_r(NULL, " ", &save)) {
      percent_decode(tok);
      f[n++] = tok;
    }
    if (n == 0 || f[0][0] == '#') continue;
    step = NULL;
    if (run_op(f, n) != 0) {
      if (step) report_line(report_fd, "spec line (%s): %s: %s", copy, step, strerror(errno));
      else report_line(report_fd, "spec line (%s): %s", copy, strerror(errno));
      return -1;
    }
  }
  return 0;
}
