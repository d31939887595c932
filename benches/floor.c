/* The floor: the least a container start can cost. One clone into new
 * mount, pid, uts, ipc (and optionally net) namespaces, bind the rootfs,
 * pivot_root into it, mount /proc, exec /bin/true, wait. No /dev, no
 * capabilities, no error reporting worth the name: a lower bound, not a
 * runtime. Usage: floor [--net] ROOTFS */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[64 * 1024];
static const char *root;

static int child(void *arg) {
    (void)arg;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) return 101;
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL)) return 102;
    if (chdir(root)) return 103;
    if (syscall(SYS_pivot_root, ".", ".")) return 104;
    if (umount2(".", MNT_DETACH)) return 105;
    if (chdir("/")) return 106;
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) return 107;
    char *argv[] = {"/bin/true", NULL};
    char *envp[] = {"PATH=/bin", NULL};
    execve(argv[0], argv, envp);
    return 127;
}

int main(int argc, char **argv) {
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--net") == 0) { flags |= CLONE_NEWNET; i = 2; }
    if (argc <= i) { fprintf(stderr, "usage: floor [--net] ROOTFS\n"); return 2; }
    root = argv[i];
    pid_t pid = clone(child, stack + sizeof stack, flags, NULL);
    if (pid < 0) { perror("clone"); return 1; }
    int status;
    if (waitpid(pid, &status, 0) < 0) return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
