/*
 * The learner's cgroups, as the shim keeps them.
 *
 * Ending: teardown() kills every process in the sandbox's trees, whatever the
 * learner did to them: a v1 process frozen in a cgroup of the learner's dies
 * only once thawed, so every freezer below is thawed after the kill.
 *
 * Bounding: cgroup v1 has no cgroup.max.descendants: nothing in the kernel stops a
 * learner who owns a cgroup from making thousands below it, each costing the
 * host kernel memory the sandbox's limit does not cover. The shim watches the
 * learner's cgroups with inotify and removes any past the bounds as soon as it
 * appears (moving whatever the learner put in it to its parent first), so the
 * learner's mkdir succeeds but the cgroup is gone a moment later.
 */
#include "helper.h"

#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

struct watch { int wd; int root; int depth; char *path; };

static int ino = -1, max_count, max_depth;
static struct watch *watches;
static size_t nwatches, capacity;

int guard_fd(void) { return ino; }

static struct watch *find(int wd) {
  for (size_t k = 0; k < nwatches; k++)
    if (watches[k].wd == wd) return &watches[k];
  return NULL;
}

/* The cgroups kept below root `root`: those watched, but the root itself (a removed one's watch goes with it). */
static int kept(int root) {
  int n = 0;
  for (size_t k = 0; k < nwatches; k++) n += watches[k].root == root && watches[k].depth > 0;
  return n;
}

static void forget(int wd) {
  for (size_t k = 0; k < nwatches; k++) {
    if (watches[k].wd != wd) continue;
    free(watches[k].path);
    watches[k] = watches[--nwatches];
    return;
  }
}

/* Moves what is in `dir` (and below) to `parent`, then removes it all. */
static void evict(const char *dir, const char *parent) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
      char sub[PATH_MAX];
      snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
      evict(sub, parent);
    }
    closedir(d);
  }
  for (int attempt = 0; attempt < 20 && rmdir(dir) != 0 && errno == EBUSY; attempt++) {
    char procs[PATH_MAX], to[PATH_MAX], pid[32];
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
    snprintf(to, sizeof(to), "%s/cgroup.procs", parent);
    FILE *f = fopen(procs, "re");
    if (!f) break;
    while (fgets(pid, sizeof(pid), f)) write_file(to, pid, 0, 0);
    fclose(f);
  }
}

static void watch_dir(const char *path, int root, int depth);

/* A directory appeared at `path`: keep it (and watch it) or take it away. */
static void appeared(const char *path, int root, int depth, const char *parent) {
  if (depth > max_depth || kept(root) >= max_count) evict(path, parent);
  else watch_dir(path, root, depth);
}

static void watch_dir(const char *path, int root, int depth) {
  int wd = inotify_add_watch(ino, path, IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW);
  if (wd < 0) return;
  if (nwatches == capacity) {
    capacity = capacity ? capacity * 2 : 64;
    watches = realloc(watches, capacity * sizeof(*watches));
    if (!watches) die("out of memory");
  }
  watches[nwatches++] = (struct watch){.wd = wd, .root = root, .depth = depth, .path = strdup(path)};
  /* what the learner made below before the watch existed */
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    char sub[PATH_MAX];
    snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
    appeared(sub, root, depth + 1, path);
  }
  closedir(d);
}

int guard_configure(int max, int depth, char **dirs, int n) {
  ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ino < 0) return -1;
  max_count = max;
  max_depth = depth;
  for (int k = 0; k < n; k++) watch_dir(dirs[k], k, 0);
  return 0;
}

void guard_handle(void) {
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t len;
  while ((len = read(ino, buf, sizeof(buf))) > 0) {
    for (char *p = buf; p < buf + len;) {
      struct inotify_event *ev = (struct inotify_event *)p;
      p += sizeof(*ev) + ev->len;
      if (ev->mask & IN_IGNORED) {
        forget(ev->wd);
        continue;
      }
      struct watch *w = find(ev->wd);
      if (!w || !(ev->mask & IN_ISDIR) || ev->len == 0) continue;
      if (ev->mask & IN_CREATE) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", w->path, ev->name);
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", w->path);
        appeared(path, w->root, w->depth + 1, parent);
      }
    }
  }
}

static char **teardown_dirs;
static int nteardown;

int teardown_configure(char **dirs, int n) {
  teardown_dirs = calloc((size_t)n, sizeof(char *));
  if (!teardown_dirs) return -1;
  for (int k = 0; k < n; k++) teardown_dirs[k] = strdup(dirs[k]);
  nteardown = n;
  return 0;
}

/* Kills what is in `dir` and below (but ourselves); returns how many were found. */
static int kill_tree(const char *dir) {
  int found = 0;
  char path[PATH_MAX], line[32];
  snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
  write_file(path, "1", 0, 0);
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  FILE *f = fopen(path, "re");
  if (f) {
    while (fgets(line, sizeof(line), f)) {
      pid_t pid = (pid_t)atoi(line);
      if (pid > 0 && pid != getpid()) {
        kill(pid, SIGKILL);
        found++;
      }
    }
    fclose(f);
  }
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      found += kill_tree(path);
    }
    closedir(d);
  }
  snprintf(path, sizeof(path), "%s/freezer.state", dir);
  write_file(path, "THAWED", 0, 0);
  return found;
}

void teardown(void) {
  for (int round = 0; round < 200; round++) {
    int found = 0;
    for (int k = 0; k < nteardown; k++) found += kill_tree(teardown_dirs[k]);
    if (!found) return;
    usleep(round < 20 ? 5000 : 20000);
  }
}
