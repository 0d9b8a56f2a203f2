#ifndef CBONDSYSTEM_H
#define CBONDSYSTEM_H
#include <spawn.h>

/// pipe2(fds, O_CLOEXEC), which needs _GNU_SOURCE.
int cbond_pipe_cloexec(int fds[2]);
/// posix_spawn_file_actions_addchdir_np (glibc 2.29+), which needs _GNU_SOURCE.
int cbond_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
#endif
