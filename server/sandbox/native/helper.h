/*
 * boxlab-sandbox: the native half of the sandbox engine. Node cannot fork into
 * new namespaces, so this small program does what must happen between fork
 * and exec. It holds no layout of its own: the TypeScript side decides what a
 * sandbox is and hands it over as a list of operations (spec.c); the security
 * policy every sandbox process gets is server/sandbox/policy.ts, compiled in
 * as policy.h (harden.c).
 *
 *   create.c   a sandbox: its ids, user namespaces, mounts, init and shim
 *   exec.c     a command or a terminal inside a running sandbox
 *   relay.c    the bytes between the server's terminal and the sandbox's
 *   harden.c   capabilities, seccomp, the v2 device filter
 *   cgroups.c  the learner's cgroups: ended whatever their state, bounded on v1
 *   spec.c     the operations of a spec, and what they share
 */
#ifndef BOXLAB_HELPER_H
#define BOXLAB_HELPER_H

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG "boxlab-sandbox"

/* Exit status of the helper's own failures (the command's never is 125). */
#define HELPER_FAILED 125

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Writes a whole string to a file; 0, or -1 with errno. */
int write_file(const char *path, const char *content, int oflags, mode_t mode);
/* Closes every descriptor from `lowest` up, but `keep` (-1: none). */
void close_fds_from(int lowest, int keep);
/* Wipes the command line and environment this process shows in /proc, and renames it. */
void conceal(int argc, char **argv, const char *name);

/* ---- harden.c ---- */
/* Drops the policy's capabilities from every set and installs its seccomp filter. */
int harden(void);
/* Attaches the policy's device filter to a cgroup v2 directory. */
int attach_device_filter(const char *dir);

/* ---- spec.c ---- */
struct sandbox_ids {
  uint32_t base; /* the first host id of the sandbox's block */
  uint32_t size; /* ids in the block */
};
extern struct sandbox_ids ids;
/* Namespace descriptors of the sandbox under construction (-1: not yet). */
extern int ns_user, ns_net, ns_uts, ns_ipc, ns_cgroup;
/* Runs one spec line; 0, or -1 with errno set (EINVAL for a bad line). */
int run_op(char **f, int n);
/* Splits a spec into lines and runs them from `*line` on, until an op named `stop` (left in *line) or the end. */
int run_spec(char **line, const char *stop, int report_fd);
/* Becomes root of the learner's user namespace (setns, then ids 0). */
int become_learner_root(int userns_fd);

/* ---- create.c, exec.c ---- */
int cmd_create(int argc, char **argv);
int cmd_exec(int argc, char **argv);

/* ---- cgroups.c ---- */
/* The trees teardown() empties: the learner's and the checks'. */
int teardown_configure(char **dirs, int n);
/* Kills every process of those trees, frozen or not. */
void teardown(void);
/* cgroup v1 only: */
/* Keeps the cgroups below each of `dirs` within `max` in number and `depth` levels. */
int guard_configure(int max, int depth, char **dirs, int n);
/* The descriptor to poll (-1: no guard), and what to do when it is readable. */
int guard_fd(void);
void guard_handle(void);

/* ---- relay.c ---- */
int relay(int master, pid_t child, int sigfd);

#endif
