import CNcurses
import Foundation
import Workbench

/// The curses screen. Only the UI thread touches it.
final class Terminal {
    private let window: UnsafeMutablePointer<WINDOW>
    private var previous: CellBuffer?
    private var pairs: [Int: Int16] = [:]
    private var nextPair: Int16 = 1
    private let hasColors: Bool
    private var cursorVisible: Int32 = -1
    let keyDecoder: KeyDecoder

    private let mouseMasks = MouseEvent.Masks(
        button1Pressed: cn_button1_pressed(), button1Clicked: cn_button1_clicked(), button1Released: cn_button1_released(),
        button4Pressed: cn_button4_pressed(), button5Pressed: cn_button5_pressed())

    init(monochrome: Bool, mouse: Bool) {
        guard let w = initscr() else {
            FileHandle.standardError.write(Data("bond-workbench: cannot initialise the terminal\n".utf8))
            exit(1)
        }
        window = w
        cursesActive = 1
        raw()
        noecho()
        nonl()
        keypad(window, true)
        set_escdelay(25)
        intrflush(window, false)
        wtimeout(window, 0)  // reads never block: the loop polls stdin itself
        hasColors = !monochrome && has_colors()
        if mouse { _ = cn_mouse_on() }
        if hasColors {
            start_color()
            use_default_colors()
        }
        var codes = KeyCodes(
            up: KEY_UP, down: KEY_DOWN, left: KEY_LEFT, right: KEY_RIGHT, home: KEY_HOME, end: KEY_END,
            pageUp: KEY_PPAGE, pageDown: KEY_NPAGE, backspace: KEY_BACKSPACE, delete: KEY_DC, insert: KEY_IC,
            enter: KEY_ENTER, backTab: KEY_BTAB, resize: KEY_RESIZE, f0: cn_key_f(0))
        // Arrows with Ctrl or Alt: the codes the terminal description gives their xterm
        // sequences (kLFT5, ...); without one, ncurses passes the characters, which the
        // decoder reads itself.
        for (sequence, key) in Self.modifiedArrows {
            let code = key_defined(sequence)
            if code > 0 { codes.extended[code] = key }
        }
        keyDecoder = KeyDecoder(codes: codes)
    }

    static let modifiedArrows: [(String, Key)] = [
        ("\u{1B}[1;5D", .ctrlLeft), ("\u{1B}[1;5C", .ctrlRight), ("\u{1B}[1;5A", .ctrlUp), ("\u{1B}[1;5B", .ctrlDown),
        ("\u{1B}[1;3D", .altLeft), ("\u{1B}[1;3C", .altRight), ("\u{1B}[1;3A", .altUp), ("\u{1B}[1;3B", .altDown),
        ("\u{1B}[1;5H", .ctrlHome), ("\u{1B}[1;5F", .ctrlEnd),
    ]

    var size: (width: Int, height: Int) { (Int(cn_getmaxx(window)), Int(cn_getmaxy(window))) }

    /// Gives the terminal back (safe to call twice).
    func end() {
        guard cursesActive != 0 else { return }
        cursesActive = 0
        curs_set(1)
        endwin()
    }

    /// Reads every key waiting (never blocks).
    func readKeys() -> [Key] {
        var batch: [RawKey] = []
        var keys: [Key] = []
        while batch.count < 4096 && keys.count < 4096 {
            var ch: wint_t = 0
            let r = wget_wch(window, &ch)
            if r == cn_err() { break }
            if r == cn_key_code_yes() && Int32(bitPattern: ch) == cn_key_mouse() {
                var x: Int32 = 0, y: Int32 = 0
                var state: UInt = 0
                if cn_getmouse(&x, &y, &state) == 0 {
                    let event = MouseEvent.decode(x: x, y: y, bstate: state, masks: mouseMasks)
                    if event.kind != .other && event.kind != .release {
                        keys += keyDecoder.decode(batch)
                        batch = []
                        keys.append(.mouse(event))
                    }
                }
                continue
            }
            batch.append(RawKey(isKeyCode: r == cn_key_code_yes(), code: Int32(bitPattern: ch)))
        }
        return keys + keyDecoder.decode(batch)
    }

    /// Follows a new terminal size (after SIGWINCH); returns it.
    func resize() -> (width: Int, height: Int) {
        var rows: Int32 = 0, cols: Int32 = 0
        if cn_tty_size(STDOUT_FILENO, &rows, &cols) == 0 || cn_tty_size(STDIN_FILENO, &rows, &cols) == 0 {
            resizeterm(rows, cols)
        }
        previous = nil
        return size
    }

    /// Draws the cells that changed since the last frame, then moves the cursor.
    func draw(_ frame: Frame) {
        let buffer = frame.buffer
        let full = previous == nil || previous!.width != buffer.width || previous!.height != buffer.height
        if full {
            werase(window)
            clearok(window, true)
        }
        for y in 0..<buffer.height {
            for x in 0..<buffer.width {
                let cell = buffer[x, y]
                if !full, let p = previous, p[x, y] == cell { continue }
                if cell.isContinuation { continue }
                put(cell, x: x, y: y)
            }
        }
        previous = buffer
        if let c = frame.cursor {
            setCursor(1)
            wmove(window, Int32(c.y), Int32(c.x))
        } else {
            setCursor(0)
        }
        wnoutrefresh(window)
        doupdate()
    }

    /// Gives the terminal to another program for a while (`resume` takes it back).
    func suspend() {
        def_prog_mode()
        endwin()
    }

    func resume() {
        reset_prog_mode()
        previous = nil
        refresh()
    }

    private func setCursor(_ v: Int32) {
        if v != cursorVisible {
            curs_set(v)
            cursorVisible = v
        }
    }

    private func put(_ cell: Cell, x: Int, y: Int) {
        var attrs = cn_a_normal()
        let s = cell.style
        if s.bold { attrs |= cn_a_bold() }
        if s.dim { attrs |= cn_a_dim() }
        if s.reverse { attrs |= cn_a_reverse() }
        if s.underline { attrs |= cn_a_underline() }
        let pair = colorPair(s.fg, s.bg)
        // A last guard: nothing that a terminal would take as a control reaches it.
        var wide: [wchar_t] = []
        for scalar in cell.symbol.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (v >= 0x7F && v < 0xA0) { wide.append(wchar_t(UInt8(ascii: "?"))) } else { wide.append(wchar_t(bitPattern: v)) }
        }
        if wide.isEmpty { wide = [wchar_t(UInt8(ascii: " "))] }
        wide.append(0)
        _ = cn_put_cell(window, Int32(y), Int32(x), wide, attrs, pair)
    }

    private func colorPair(_ fg: TermColor, _ bg: TermColor) -> Int16 {
        guard hasColors, fg != .default || bg != .default else { return 0 }
        let key = (fg.rawValue + 1) * 16 + (bg.rawValue + 1)
        if let p = pairs[key] { return p }
        guard Int32(nextPair) < cn_color_pairs() else { return 0 }
        let p = nextPair
        nextPair += 1
        init_pair(p, Int16(fg.rawValue), Int16(bg.rawValue))
        pairs[key] = p
        return p
    }
}
