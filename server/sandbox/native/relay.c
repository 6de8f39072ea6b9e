/*
 * exec --pty: the bytes between the server's terminal (this process's standard
 * input and output) and the sandbox's own, both ways, without blocking either;
 * window size changes passed on, and the sandbox's terminal hung up when the
 * server's goes away.
 */
#include "helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

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

int relay(int master, pid_t child, int sigfd) {
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

