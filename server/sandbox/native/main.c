/* boxlab-sandbox: see helper.h for what each part does. */
#include "helper.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "create") == 0) return cmd_create(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return cmd_exec(argc, argv);
  if (argc == 3 && strcmp(argv[1], "devfilter") == 0) {
    if (attach_device_filter(argv[2]) != 0) die("attaching the device filter to %s: %s", argv[2], strerror(errno));
    return 0;
  }
  fprintf(stderr, "usage: %s create < spec | exec ... -- argv | devfilter DIR\n", PROG);
  return 2;
}
