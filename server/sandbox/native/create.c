/*
 * boxlab-sandbox create < spec
 * boxlab-sandbox create SPEC      (a container's PID 1)
 *
 * Starts a sandbox. The calling process stays as its shim, host root outside
 * the sandbox: it runs the spec up to "fork-init" (the ids lease, the user
 * namespaces, the mounts only host root can make), then forks the sandbox's
 * PID 1. That init runs the rest of the spec (its /proc, the pivot into the
 * new root, becoming the learner's root, the locked mount namespace), takes
 * the policy's capabilities and system calls away from itself, and stays as a
 * zombie-reaping init. The shim prints "ready <init pid> <first host id>"
 * once the init is up, keeps the ids lease and the v1 cgroup guard, and exits
 * when the init dies. SIGTERM/SIGINT/SIGHUP to the shim, or the death of the
 * shim's parent, kill every process of the sandbox's cgroups (thawing what was
 * frozen) and the init (the kernel empties a PID namespace whose init dies).
 */
#include "helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;
static void note_signal(int sig) { got_signal = sig; }

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

static char *read_all(int fd) {
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  if (!buf) die("out of memory");
  for (;;) {
    if (len + 4096 > cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) die("out of memory");
    }
    ssize_t r = read(fd, buf + len, cap - len - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("reading the spec: %s", strerror(errno));
    if (r == 0) break;
    len += (size_t)r;
  }
  buf[len] = 0;
  return buf;
}

static void report(int fd, const char *text) {
  if (write(fd, text, strlen(text)) < 0) { /* nobody to tell */ }
}

int cmd_create(int argc, char **argv) {
  /* nothing of the server's: not one descriptor above the standard three (a terminal's master, say) */
  close_fds_from(3, -1);
  /* the spec first (standard input, or the argument: a container's), the init cannot talk to us once it runs */
  char *spec = argc >= 3 ? strdup(argv[2]) : read_all(0);
  char *cursor = spec;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  /* the namespace holders, orphaned on purpose, come back to us to be reaped */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (run_spec(&cursor, "fork-init", 2) != 0) exit(HELPER_FAILED);
  if (strncmp(cursor, "fork-init", 9) != 0) die("the spec has no fork-init line");
  cursor = strchr(cursor, '\n') ? strchr(cursor, '\n') + 1 : cursor + strlen(cursor);

  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));
  pid_t init = fork();
  if (init < 0) die("fork: %s", strerror(errno));
  if (init == 0) {
    close(status_pipe[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int out = status_pipe[1];
    if (run_spec(&cursor, NULL, out) != 0) _exit(1);
    if (harden() != 0) {
      char msg[256];
      snprintf(msg, sizeof(msg), "dropping privileges: %s", strerror(errno));
      report(out, msg);
      _exit(1);
    }
    report(out, "ok");
    close_fds_from(0, -1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
    }
    clearenv();
    conceal(argc, argv, "boxlab-init");
    if (setsid() < 0) { /* already a session leader is fine */ }
    become_init();
  }

  close(status_pipe[1]);
  char msg[1100];
  ssize_t got = 0, r;
  while ((r = read(status_pipe[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0) got += r;
  msg[got > 0 ? got : 0] = 0;
  close(status_pipe[0]);
  if (strcmp(msg, "ok") != 0) {
    kill(init, SIGKILL);
    waitpid(init, NULL, 0);
    die("%s", got > 0 ? msg : "the sandbox init died during setup");
  }
  free(spec);

  sigset_t waitset;
  sigemptyset(&waitset);
  sigaddset(&waitset, SIGTERM);
  sigaddset(&waitset, SIGINT);
  sigaddset(&waitset, SIGHUP);
  sigaddset(&waitset, SIGCHLD);
  sigprocmask(SIG_BLOCK, &waitset, NULL);
  int sigfd = signalfd(-1, &waitset, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) die("signalfd: %s", strerror(errno));
  signal(SIGPIPE, SIG_IGN);
  printf("ready %d %u\n", init, ids.base);
  fflush(stdout);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
  }
  int guard = guard_fd();
  for (;;) {
    struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = guard, .events = POLLIN}};
    if (poll(p, guard >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) break;
    if (guard >= 0 && (p[1].revents & POLLIN)) guard_handle();
    if (!(p[0].revents & POLLIN)) continue;
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
      if (si.ssi_signo == SIGCHLD) continue;
      /* everything first: a PID namespace whose init dies waits for its processes, and a frozen one never goes */
      teardown();
      kill(init, SIGKILL);
    }
    /* reap everything: exec helpers of a container engine's, orphaned, come to us too */
    pid_t w;
    int st;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0)
      if (w == init) return 0;
  }
  return 0;
}
