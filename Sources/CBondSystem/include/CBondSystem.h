#ifndef CBONDSYSTEM_H
#define CBONDSYSTEM_H
#include <spawn.h>

/// pipe2(fds, O_CLOEXEC), which needs _GNU_SOURCE.
int cbond_pipe_cloexec(int fds[2]);
/// posix_spawn_file_actions_addchdir_np (glibc 2.29+), which needs _GNU_SOURCE.
int cbond_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
/// Asks for a pipe buffer of `size` bytes (F_SETPIPE_SZ); returns the size granted, or -1.
int cbond_set_pipe_size(int fd, int size);
#endif
