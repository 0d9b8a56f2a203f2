#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H
/* No _XOPEN_SOURCE here: glibc headers must see the same feature macros as the Glibc module. */
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <wchar.h>
#include <langinfo.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <ncursesw/curses.h>

/* Macros of curses as functions, for Swift (which imports no function-like or attribute macros). */
static inline attr_t cn_a_normal(void) { return A_NORMAL; }
static inline attr_t cn_a_bold(void) { return A_BOLD; }
static inline attr_t cn_a_dim(void) { return A_DIM; }
static inline attr_t cn_a_reverse(void) { return A_REVERSE; }
static inline attr_t cn_a_underline(void) { return A_UNDERLINE; }
static inline int cn_color_pair(int n) { return (int)COLOR_PAIR(n); }
static inline int cn_key_f(int n) { return KEY_F(n); }
static inline int cn_key_code_yes(void) { return KEY_CODE_YES; }
static inline int cn_err(void) { return ERR; }
static inline int cn_ok(void) { return OK; }
static inline int cn_getmaxy(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)x; return y; }
static inline int cn_getmaxx(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)y; return x; }
static inline int cn_colors(void) { return COLORS; }
static inline int cn_color_pairs(void) { return COLOR_PAIRS; }
static inline WINDOW *cn_stdscr(void) { return stdscr; }

/* Draws one cell: a spacing character and its combining characters (a NUL-terminated wide string). */
static inline int cn_put_cell(WINDOW *w, int y, int x, const wchar_t *text, attr_t attrs, short pair) {
    cchar_t c;
    if (setcchar(&c, text, attrs, pair, NULL) == ERR) {
        wchar_t blank[2] = { L'?', 0 };
        setcchar(&c, blank, attrs, pair, NULL);
    }
    return mvwadd_wch(w, y, x, &c);
}

/* The terminal size from the tty, for resizes. */
static inline int cn_tty_size(int fd, int *rows, int *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

static inline const char *cn_codeset(void) { return nl_langinfo(CODESET); }

/* The mouse: presses, releases and the wheel, reported at once (no click resolution). */
static inline int cn_mouse_on(void) {
    mmask_t old = 0;
    mouseinterval(0);
    return mousemask(BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, &old) != 0;
}
static inline int cn_key_mouse(void) { return KEY_MOUSE; }
static inline int cn_getmouse(int *x, int *y, unsigned long *bstate) {
    MEVENT e;
    if (getmouse(&e) != OK) return -1;
    *x = e.x;
    *y = e.y;
    *bstate = (unsigned long)e.bstate;
    return 0;
}
static inline unsigned long cn_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline unsigned long cn_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline unsigned long cn_button1_released(void) { return BUTTON1_RELEASED; }
static inline unsigned long cn_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline unsigned long cn_button5_pressed(void) { return BUTTON5_PRESSED; }
#endif
