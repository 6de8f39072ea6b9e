/* The test VM's last word: writes its exit status to qemu's isa-debug-exit port
 * (0xf4), which ends qemu with status (code << 1) | 1. The cloud kernel has no
 * /dev/port, hence this. Built static by scripts/vm/build.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv) {
  int code = argc > 1 ? atoi(argv[1]) : 0;
  if (ioperm(0xf4, 1, 1) != 0) {
    perror("vm-exit: ioperm");
    return 1;
  }
  outb((unsigned char)code, 0xf4);
  return 0;
}
