#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <spawn.h>
#include <sched.h>
#include "CBondSystem.h"

const int cbond_spawn_setsid = POSIX_SPAWN_SETSID;

int cbond_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cbond_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int cbond_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int cbond_available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

int cbond_pin_thread_to_one_cpu(void) {
    cpu_set_t set, one;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) {
            CPU_SET(cpu, &one);
            return sched_setaffinity(0, sizeof one, &one);
        }
    }
    return -1;
}

// Defined by ThreadSanitizer's runtime when the program is built with it; null otherwise.
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));

void cbond_tsan_acquire(void *address) {
    if (__tsan_acquire) __tsan_acquire(address);
}

void cbond_tsan_release(void *address) {
    if (__tsan_release) __tsan_release(address);
}
