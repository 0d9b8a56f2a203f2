#ifndef CBONDSYSTEM_H
#define CBONDSYSTEM_H
#include <spawn.h>

/// pipe2(fds, O_CLOEXEC), which needs _GNU_SOURCE.
int cbond_pipe_cloexec(int fds[2]);
/// posix_spawn_file_actions_addchdir_np (glibc 2.29+), which needs _GNU_SOURCE.
int cbond_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
/// Asks for a pipe buffer of `size` bytes (F_SETPIPE_SZ); returns the size granted, or -1.
int cbond_set_pipe_size(int fd, int size);
/// The processors this process may run on (its affinity mask: taskset, a container's cpuset),
/// or the online ones if that cannot be read.
int cbond_available_cpus(void);
/// Lets the calling thread run only on the first processor it may run on now (and the
/// processes it starts, which inherit it); returns 0, or -1 with errno. For tests.
int cbond_pin_thread_to_one_cpu(void);
/// POSIX_SPAWN_SETSID (glibc 2.26+), which needs _GNU_SOURCE: the child starts a session of
/// its own (and a process group, as POSIX_SPAWN_SETPGROUP), without a controlling terminal.
extern const int cbond_spawn_setsid;
/// For a lock ThreadSanitizer cannot see (Synchronization.Mutex's futex): called by the
/// holder just after it locks (acquire) and just before it unlocks (release), with the lock's
/// address, they tell ThreadSanitizer what the lock orders. Without ThreadSanitizer they do
/// nothing.
void cbond_tsan_acquire(void *address);
void cbond_tsan_release(void *address);
#endif
