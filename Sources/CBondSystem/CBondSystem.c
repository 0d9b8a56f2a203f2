#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <spawn.h>
#include "CBondSystem.h"

int cbond_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cbond_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int cbond_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }
