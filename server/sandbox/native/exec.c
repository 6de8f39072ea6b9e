/*
 * boxlab-sandbox exec --pid PID --expect MARKER [--cgroup PROCS]... [--scope DIR]...
 *                     [--inspector] [--announce] [--cwd DIR] (--session | --pty) -- ARGV...
 *
 * Runs ARGV inside the sandbox whose init is PID, and waits for it. This
 * process stays outside, in the host's namespaces and the server's cgroup,
 * where no learner reaches it; its child enters the sandbox in an order that
 * never lets a learner near a privileged process: it joins its cgroups first
 * (so nothing escapes the limits), then the sandbox's user namespace (from
 * there on it is the learner's root, or the checker), then the other
 * namespaces, drops the policy's capabilities and system calls, and only then
 * touches a path (its working directory, the sandbox's /dev/ptmx). Until it
 * execs it is undumpable, so not even the learner's root can ptrace it.
 *
 *   --cgroup PROCS  a cgroup.procs file the command joins (one per hierarchy)
 *   --scope DIR     the command runs in a new cgroup below DIR (one per
 *                   hierarchy), and everything in it is killed when the
 *                   command ends or this process gets SIGTERM
 *   --inspector     the command runs in the sandbox's outer user namespace,
 *                   as the checker: it sees and enters everything of the
 *                   learner's, who can neither signal nor trace it. It gets
 *                   the learner's user namespace on descriptor 3, and its
 *                   name in $BOXLAB_SANDBOX_USERNS
 *   --announce      first prints "boxlab-pid SELF CHILD": this process and the
 *                   command (the leader of its session), for a caller that
 *                   cannot see them otherwise (a container engine's)
 *   --session       the command leads a session of its own; SIGTERM kills it all
 *   --pty           the command gets a terminal of the sandbox's own devpts,
 *                   and this process relays between it and its own standard
 *                   input and output (the server's terminal)
 */
#include "helper.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "policy.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

extern char **environ;

#define MAX_CG 32
static char *scopes[MAX_CG];
static int nscopes;

/* Kills everything in the command's scope (v2: cgroup.kill; v1: until none is left), then removes it. */
static void end_scope(void) {
  if (nscopes == 0) return;
  char path[4096];
  snprintf(path, sizeof(path), "%s/cgroup.kill", scopes[0]);
  int v2 = write_file(path, "1", 0, 0) == 0;
  snprintf(path, sizeof(path), "%s/cgroup.procs", scopes[0]);
  for (int round = 0; round < 400; round++) {
    FILE *f = fopen(path, "re");
    if (!f) break;
    int any = 0;
    char line[32];
    while (fgets(line, sizeof(line), f)) {
      any = 1;
      if (!v2) kill((pid_t)atoi(line), SIGKILL);
    }
    fclose(f);
    if (!any) break;
    usleep(5000);
  }
  for (int k = 0; k < nscopes; k++)
    for (int attempt = 0; attempt < 100 && rmdir(scopes[k]) != 0 && errno == EBUSY; attempt++) usleep(5000);
}

/* The learner's root, or the checker: a uid the learner's namespace does not map, with every capability kept across exec. */
static int take_identity(int userns, int inspector) {
  if (!inspector) return become_learner_root(userns);
  if (setns(userns, CLONE_NEWUSER) != 0) return -1;
  if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0) != 0) return -1;
  if (setgroups(0, NULL) != 0 || setresgid(CHECKER_ID, CHECKER_ID, CHECKER_ID) != 0 || setresuid(CHECKER_ID, CHECKER_ID, CHECKER_ID) != 0) return -1;
  return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* After harden(): what the checker still holds becomes ambient, so bash (a uid other than 0) keeps it. */
static int keep_capabilities_across_exec(void) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) != 0) return -1;
  data[0].inheritable = data[0].permitted;
  data[1].inheritable = data[1].permitted;
  if (syscall(SYS_capset, &hdr, data) != 0) return -1;
  for (int c = 0; c <= CAP_LAST_CAP; c++)
    if (data[c / 32].permitted & (1u << (c % 32))) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
  return 0;
}

static int send_fd(int sock, int fd) {
  char byte = 't';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

/* In the child, after harden(): a terminal of the sandbox's own devpts, its master handed to the parent. */
static int open_terminal(int sock) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || unlockpt(master) != 0) return -1;
  /* the peer by descriptor: no path a learner could have replaced */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) return -1;
  struct termios tio;
  struct winsize ws;
  if (tcgetattr(0, &tio) == 0) tcsetattr(slave, TCSANOW, &tio);
  if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(slave, TIOCSWINSZ, &ws);
  if (send_fd(sock, master) != 0) return -1;
  close(master);
  /* a session leader taking a terminal makes it its controlling terminal */
  if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) != 0) return -1;
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) return -1;
  if (slave > 2) close(slave);
  return 0;
}

int cmd_exec(int argc, char **argv) {
  /* nothing of the server's is passed on: not one descriptor above the standard three */
  close_fds_from(3, -1);
  pid_t pid = 0;
  const char *expect = NULL, *cwd = "/";
  char *cgroups[MAX_CG];
  int ncg = 0, session = 0, use_pty = 0, inspector = 0, announce = 0, i;
  for (i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc) pid = atoi(argv[++i]);
    else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) expect = strdup(argv[++i]);
    else if (strcmp(argv[i], "--cwd") == 0 && i + 1 < argc) cwd = strdup(argv[++i]);
    else if (strcmp(argv[i], "--cgroup") == 0 && i + 1 < argc && ncg < MAX_CG) cgroups[ncg++] = strdup(argv[++i]);
    else if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc && nscopes < MAX_CG) scopes[nscopes++] = argv[++i];
    else if (strcmp(argv[i], "--inspector") == 0) inspector = 1;
    else if (strcmp(argv[i], "--announce") == 0) announce = 1;
    else if (strcmp(argv[i], "--session") == 0) session = 1;
    else if (strcmp(argv[i], "--pty") == 0) use_pty = 1;
    else die("exec: unknown option %s", argv[i]);
  }
  if (pid <= 0 || !expect || i >= argc || session == use_pty)
    die("usage: exec --pid PID --expect CGROUP [--cgroup PROCS]... [--scope DIR]... [--inspector] [--announce] [--cwd DIR] (--session | --pty) -- ARGV...");
  /* the command and its environment, kept before this process's own are wiped */
  int cmdc = argc - i;
  char **cmd = calloc((size_t)cmdc + 1, sizeof(char *));
  for (int k = 0; k < cmdc; k++) cmd[k] = strdup(argv[i + k]);
  size_t envc = 0;
  while (environ && environ[envc]) envc++;
  char **env = calloc(envc + 1, sizeof(char *));
  for (size_t k = 0; k < envc; k++) env[k] = strdup(environ[k]);
  for (int k = 0; k < nscopes; k++) {
    char *dir = malloc(strlen(scopes[k]) + 32);
    sprintf(dir, "%s/run-%d", scopes[k], getpid());
    scopes[k] = dir;
  }
  conceal(argc, argv, "boxlab-exec");
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

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
  /* "-": no such check, where the init's death ends everything that could reuse its pid (a container) */
  if (strcmp(expect, "-") != 0 && !strstr(cg, expect)) die("pid %d is not the sandbox's init", pid);
  static const struct { const char *name; int type; } nss[] = {
      {"mnt", CLONE_NEWNS}, {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC}, {"net", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP},
  };
  enum { NNS = sizeof(nss) / sizeof(nss[0]) };
  int nsfd[NNS];
  for (int k = 0; k < NNS; k++) {
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, nss[k].name);
    nsfd[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[k] < 0) die("opening %s: %s", path, strerror(errno));
  }
  snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
  int pidns = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
  int userns = open(path, O_RDONLY | O_CLOEXEC);
  if (pidns < 0 || userns < 0) die("opening the sandbox's namespaces: %s", strerror(errno));
  int learner_userns = -1;
  if (inspector) {
    learner_userns = userns;
    /* checks compare namespaces with the learner's own user namespace, not the one they run in */
    struct stat st;
    if (fstat(userns, &st) == 0) {
      char **grown = realloc(env, (envc + 2) * sizeof(char *));
      if (!grown) die("out of memory");
      env = grown;
      if (asprintf(&env[envc], "BOXLAB_SANDBOX_USERNS=user:[%lu]", (unsigned long)st.st_ino) < 0) die("out of memory");
      env[++envc] = NULL;
    }
    /* the learner's user namespace's parent: the sandbox's outer one */
    int outer = ioctl(userns, NS_GET_PARENT);
    if (outer < 0) die("finding the sandbox's outer user namespace: %s", strerror(errno));
    userns = outer;
  }
  if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0) die("the sandbox is gone");
  close(pidfd);
  for (int k = 0; k < nscopes; k++)
    if (mkdir(scopes[k], 0755) != 0) die("making %s: %s", scopes[k], strerror(errno));
  /* a PID namespace applies to children only */
  if (setns(pidns, CLONE_NEWPID) != 0) die("entering the sandbox's PID namespace: %s", strerror(errno));

  int sock[2] = {-1, -1}, errpipe[2];
  if (use_pty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0) die("socketpair: %s", strerror(errno));
  if (pipe2(errpipe, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(errpipe[0]);
    if (sock[0] >= 0) close(sock[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* the parent is outside our PID namespace (0); had it died, the sandbox's init would be our parent */
    if (getppid() != 0) _exit(HELPER_FAILED);
    int err = 0;
    const char *step = "joining the sandbox's cgroups";
    for (int k = 0; k < ncg && !err; k++)
      if (write_file(cgroups[k], "0", 0, 0) != 0) err = errno;
    for (int k = 0; k < nscopes && !err; k++) {
      char procs[4096];
      snprintf(procs, sizeof(procs), "%s/cgroup.procs", scopes[k]);
      if (write_file(procs, "0", 0, 0) != 0) err = errno;
    }
    if (!err && (step = "entering the sandbox's user namespace", take_identity(userns, inspector) != 0)) err = errno;
    for (int k = 0; k < NNS && !err; k++)
      if ((step = "entering the sandbox's namespaces", setns(nsfd[k], nss[k].type) != 0)) err = errno;
    if (!err && (step = "dropping privileges", harden() != 0)) err = errno;
    if (!err && inspector && keep_capabilities_across_exec() != 0) err = errno;
    /* the learner's user namespace stays at hand, on descriptor 3, for what a check does as the learner's root */
    if (!err && inspector && (dup2(learner_userns, 3) != 3)) err = errno;
    /* from here on, paths the learner controls */
    if (!err && chdir(cwd) != 0 && chdir("/") != 0) err = errno;
    if (!err && use_pty && (step = "opening a terminal in the sandbox", open_terminal(sock[1]) != 0)) err = errno;
    if (!err && session) setsid();
    int execed = 0;
    if (!err) {
      sigprocmask(SIG_SETMASK, &old, NULL);
      execed = 1;
      execvpe(cmd[0], cmd, env);
      err = errno;
    }
    /* "X errno": the command could not be run; "E errno step": entering the sandbox failed */
    char msg[512];
    int len = execed ? snprintf(msg, sizeof(msg), "X %d", err) : snprintf(msg, sizeof(msg), "E %d %s", err, step);
    if (write(errpipe[1], msg, (size_t)len) < 0) { /* the parent reports 127 anyway */ }
    _exit(127);
  }
  close(errpipe[1]);
  if (sock[1] >= 0) close(sock[1]);
  if (announce) {
    char line[64];
    int len = snprintf(line, sizeof(line), "boxlab-pid %d %d\n", getpid(), child);
    if (write(1, line, (size_t)len) != len) { /* the caller will not know; nothing else to do */ }
  }
  int master = -1;
  if (use_pty) master = recv_fd(sock[0]);
  char msg[512];
  got = read(errpipe[0], msg, sizeof(msg) - 1);
  msg[got > 0 ? got : 0] = 0;
  close(errpipe[0]);
  int err = got > 2 ? atoi(msg + 2) : 0;
  if (got > 0 && msg[0] == 'E') {
    const char *step = strchr(msg + 2, ' ');
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    end_scope();
    die("%s: %s", step ? step + 1 : "entering the sandbox", strerror(err));
  }
  if (got > 0) fprintf(stderr, "boxlab: %s: %s\n", cmd[0], strerror(err));

  if (use_pty && err) {
    waitpid(child, NULL, 0);
    return err == EACCES ? 126 : 127;
  }
  if (use_pty) {
    /* what the sandbox handed over must be a terminal's master, nothing else */
    int n;
    if (master < 0 || ioctl(master, TIOCGPTN, &n) != 0) {
      kill(child, SIGKILL);
      die("the sandbox gave no terminal");
    }
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
    return relay(master, child, sigfd);
  }

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int st;
      pid_t w = waitpid(child, &st, WNOHANG);
      if (w != child) continue;
      end_scope();
      if (err) return err == EACCES ? 126 : 127;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    if (sig == SIGTERM) {
      /* a timeout: the command and all it started, wherever they went */
      if (nscopes) end_scope();
      kill(-child, SIGKILL);
      kill(child, SIGKILL);
    } else if (sig != SIGPIPE && sig != SIGTTOU && sig != SIGTTIN && sig != SIGTSTP) {
      kill(session ? -child : child, sig);
    }
  }
}
