/* Times round trips with drivers that are already started (a development tool; see
 * driver-roundtrip.py, which starts them and runs this).
 *
 *   driver-roundtrip BLOCK BLOCKS PAUSE_NS MODE IN OUT [IN OUT ...]
 *
 * MODE is "call" (send CALL ["ident",[1]], read the reply) or "callback" (send
 * CALL ["_bond_bench_loop",[n]] and answer each CALL it makes with RETURN 1 until its
 * RETURN). The drivers are timed in turn, block by block: BLOCKS blocks of BLOCK round trips
 * each, after 5 untimed ones, each after 200 untimed round trips; before each round trip a
 * pause of 0 to PAUSE_NS ns (random, timed and taken off; see Sources/bond-bench/Dither.swift).
 * Prints, for each driver, the median of its blocks and the median ratio to the first
 * driver's blocks timed beside them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buffer[1 << 20];
static unsigned long long seed = 0x9E3779B97F4A7C15ull, pauseLimit, paused;

static unsigned long long nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void pauseAtRandom(void) {
    if (!pauseLimit) return;
    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
    unsigned long long start = nanoseconds(), until = start + seed % pauseLimit, now = start;
    while (now < until) now = nanoseconds();
    paused += now - start;
}

static void writeAll(int fd, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, bytes, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { perror("write"); exit(1); }
        bytes += n; length -= n;
    }
}

/* Reads until a whole line is in; returns whether it starts with RETURN. Spins, as the engine does. */
static int readLine(int fd) {
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + got, sizeof buffer - got);
        if (n > 0) {
            got += n;
            if (buffer[got - 1] == '\n') return strncmp(buffer, "RETURN", 6) == 0;
            continue;
        }
        if (n == 0) { fprintf(stderr, "a driver ended\n"); exit(1); }
        if (errno != EAGAIN && errno != EINTR) { perror("read"); exit(1); }
    }
}

static void calls(int in, int out, int count) {
    static const char line[] = "CALL [\"ident\",[1]]\n";
    for (int i = 0; i < count; i++) {
        pauseAtRandom();
        writeAll(out, line, sizeof line - 1);
        readLine(in);
    }
}

static void callbacks(int in, int out, int count) {
    char line[64];
    writeAll(out, line, snprintf(line, sizeof line, "CALL [\"_bond_bench_loop\",[%d]]\n", count));
    while (!readLine(in)) {  /* one CALL of cb per line (the driver waits for each reply) */
        pauseAtRandom();
        writeAll(out, "RETURN 1\n", 9);
    }
}

static int byValue(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 7 || (argc - 5) % 2) { fprintf(stderr, "usage: see driver-roundtrip.py\n"); return 2; }
    int block = atoi(argv[1]), blocks = atoi(argv[2]), drivers = (argc - 5) / 2;
    pauseLimit = strtoull(argv[3], NULL, 10);
    void (*roundTrips)(int, int, int) = strcmp(argv[4], "callback") == 0 ? callbacks : calls;
    int in[16], out[16];
    if (drivers > 16) return 2;
    for (int d = 0; d < drivers; d++) {
        in[d] = atoi(argv[5 + 2 * d]);
        out[d] = atoi(argv[6 + 2 * d]);
        fcntl(in[d], F_SETFL, fcntl(in[d], F_GETFL) | O_NONBLOCK);
    }
    double *times = calloc((size_t)drivers * blocks, sizeof *times), *sorted = calloc(blocks, sizeof *sorted);
    for (int b = -5; b < blocks; b++) {
        for (int d = 0; d < drivers; d++) {
            roundTrips(in[d], out[d], 200);
            paused = 0;
            unsigned long long start = nanoseconds();
            roundTrips(in[d], out[d], block);
            double each = (double)(nanoseconds() - start - paused) / block / 1000;
            if (b >= 0) times[d * blocks + b] = each;
        }
    }
    for (int d = 0; d < drivers; d++) {
        for (int b = 0; b < blocks; b++) sorted[b] = times[d * blocks + b];
        qsort(sorted, blocks, sizeof *sorted, byValue);
        double median = sorted[blocks / 2];
        for (int b = 0; b < blocks; b++) sorted[b] = times[d * blocks + b] / times[b];
        qsort(sorted, blocks, sizeof *sorted, byValue);
        printf("%d: %.3f us, %.3f x the first\n", d, median, sorted[blocks / 2]);
    }
    return 0;
}
