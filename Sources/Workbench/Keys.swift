/// A key, decoded from what curses returns.
public enum Key: Sendable, Hashable, CustomStringConvertible {
    case char(Character)
    case ctrl(Character)      // Ctrl-A ... Ctrl-Z as lower-case letters
    case alt(Character)
    case enter, altEnter, tab, backTab, backspace, delete, escape
    case up, down, left, right, home, end, pageUp, pageDown, insert
    /// Arrows with Ctrl or Alt held (xterm's `ESC [ 1 ; 5 D` and `ESC [ 1 ; 3 D`, or the
    /// extended key codes ncurses gives for them).
    case ctrlLeft, ctrlRight, ctrlUp, ctrlDown, altLeft, altRight, altUp, altDown, ctrlHome, ctrlEnd
    case function(Int)
    case resize
    case mouse(MouseEvent)
    case unknown(Int)

    public var description: String {
        switch self {
        case .char(let c): "\(c)"
        case .ctrl(let c): "C-\(c)"
        case .alt(let c): "M-\(c)"
        case .function(let n): "F\(n)"
        case .unknown(let n): "key(\(n))"
        default: "\(self)"
        }
    }
}

/// A mouse event at a cell of the screen.
public struct MouseEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case press, release, wheelUp, wheelDown, other }
    public var x: Int
    public var y: Int
    public var kind: Kind
    public init(x: Int, y: Int, kind: Kind) {
        self.x = x
        self.y = y
        self.kind = kind
    }

    /// The masks of curses' `MEVENT.bstate` that the workbench uses (filled in by the backend).
    public struct Masks: Sendable {
        public var button1Pressed: UInt, button1Clicked: UInt, button1Released: UInt
        public var button4Pressed: UInt, button5Pressed: UInt
        public init(button1Pressed: UInt, button1Clicked: UInt, button1Released: UInt, button4Pressed: UInt, button5Pressed: UInt) {
            self.button1Pressed = button1Pressed
            self.button1Clicked = button1Clicked
            self.button1Released = button1Released
            self.button4Pressed = button4Pressed
            self.button5Pressed = button5Pressed
        }
        /// The values of ncurses 6 (mouse version 2), for tests.
        public static let ncurses = Masks(button1Pressed: 0o2, button1Clicked: 0o4, button1Released: 0o1,
                                          button4Pressed: 0o2 << 15, button5Pressed: 0o2 << 20)
    }

    /// Decodes what `getmouse` gave.
    public static func decode(x: Int32, y: Int32, bstate: UInt, masks: Masks) -> MouseEvent {
        let kind: Kind
        if bstate & masks.button4Pressed != 0 {
            kind = .wheelUp
        } else if bstate & masks.button5Pressed != 0 {
            kind = .wheelDown
        } else if bstate & (masks.button1Pressed | masks.button1Clicked) != 0 {
            kind = .press
        } else if bstate & masks.button1Released != 0 {
            kind = .release
        } else {
            kind = .other
        }
        return MouseEvent(x: Int(x), y: Int(y), kind: kind)
    }
}

/// The numeric key codes of curses (`KEY_UP`, ...), filled in by the backend so that this module
/// needs no curses import.
public struct KeyCodes: Sendable {
    public var up: Int32, down: Int32, left: Int32, right: Int32, home: Int32, end: Int32
    public var pageUp: Int32, pageDown: Int32, backspace: Int32, delete: Int32, insert: Int32
    public var enter: Int32, backTab: Int32, resize: Int32
    /// `KEY_F(0)`; F1 is `f0 + 1`.
    public var f0: Int32
    /// Extended key codes the terminal description defines (`kLFT5`, ...), found by the backend.
    public var extended: [Int32: Key] = [:]

    public init(up: Int32, down: Int32, left: Int32, right: Int32, home: Int32, end: Int32, pageUp: Int32,
                pageDown: Int32, backspace: Int32, delete: Int32, insert: Int32, enter: Int32, backTab: Int32,
                resize: Int32, f0: Int32) {
        self.up = up; self.down = down; self.left = left; self.right = right; self.home = home; self.end = end
        self.pageUp = pageUp; self.pageDown = pageDown; self.backspace = backspace; self.delete = delete
        self.insert = insert; self.enter = enter; self.backTab = backTab; self.resize = resize; self.f0 = f0
    }

    /// The values of ncurses 6 (for tests).
    public static let ncurses = KeyCodes(
        up: 0o403, down: 0o402, left: 0o404, right: 0o405, home: 0o406, end: 0o550, pageUp: 0o523,
        pageDown: 0o522, backspace: 0o407, delete: 0o512, insert: 0o513, enter: 0o527, backTab: 0o541,
        resize: 0o632, f0: 0o410)
}

/// One read from curses: a key code (`wget_wch` returned `KEY_CODE_YES`) or a character.
public struct RawKey: Sendable, Hashable {
    public var isKeyCode: Bool
    public var code: Int32
    public init(isKeyCode: Bool, code: Int32) {
        self.isKeyCode = isKeyCode
        self.code = code
    }
    public static func ch(_ c: Character) -> RawKey { RawKey(isKeyCode: false, code: Int32(c.unicodeScalars.first!.value)) }
}

public struct KeyDecoder: Sendable {
    public var codes: KeyCodes
    public init(codes: KeyCodes) { self.codes = codes }

    /// Decodes a batch of reads that arrived together; ESC followed by a key in the same batch is Alt.
    public func decode(_ batch: [RawKey]) -> [Key] {
        var keys: [Key] = []
        var i = 0
        while i < batch.count {
            let raw = batch[i]
            if !raw.isKeyCode && raw.code == 27, let (key, length) = Self.escapeSequence(batch, at: i) {
                keys.append(key)
                i += length
                continue
            }
            if !raw.isKeyCode && raw.code == 27 && i + 1 < batch.count {
                let next = batch[i + 1]
                // ESC then Backspace as a key code (terminals send Alt-Backspace as ESC DEL, and
                // ncurses may read DEL as KEY_BACKSPACE), ESC then an arrow: Alt held.
                if next.isKeyCode {
                    let alt: Key? = switch next.code {
                    case codes.backspace: .alt("\u{7F}")
                    case codes.left: .altLeft
                    case codes.right: .altRight
                    case codes.up: .altUp
                    case codes.down: .altDown
                    default: nil
                    }
                    if let alt {
                        keys.append(alt)
                        i += 2
                        continue
                    }
                }
                // Alt: ESC then Enter, Backspace or a printable character. ESC then another
                // control key is two keys.
                if !next.isKeyCode && (next.code == 13 || next.code == 10 || next.code == 127 || next.code == 8) {
                    keys.append(next.code == 13 || next.code == 10 ? .altEnter : .alt("\u{7F}"))
                    i += 2
                    continue
                }
                if !next.isKeyCode && next.code >= 0x20, let s = UnicodeScalar(UInt32(next.code)) {
                    keys.append(.alt(Character(s)))
                    i += 2
                    continue
                }
            }
            keys.append(decodeOne(raw))
            i += 1
        }
        return keys
    }

    /// An xterm sequence that ncurses passed as characters (its terminal description lacks it):
    /// `ESC [ 1 ; 5 D` (Ctrl-Left), `ESC [ 1 ; 3 C` (Alt-Right), `ESC [ 3 ; 3 ~`, `ESC [ 1 ~`
    /// (Home), `ESC [ 4 ~` (End), `ESC [ H` / `ESC [ F`, `ESC O H` / `ESC O F`; the key and how
    /// many reads it took.
    static func escapeSequence(_ batch: [RawKey], at start: Int) -> (Key, Int)? {
        guard start + 2 < batch.count, !batch[start + 1].isKeyCode else { return nil }
        let introducer = batch[start + 1].code
        guard introducer == 0x5B || introducer == 0x4F else { return nil }  // [ or O
        var params = ""
        var i = start + 2
        while i < batch.count, !batch[i].isKeyCode, (0x30...0x3F).contains(batch[i].code), params.count < 8 {
            params.append(Character(UnicodeScalar(UInt8(batch[i].code))))
            i += 1
        }
        guard i < batch.count, !batch[i].isKeyCode, (0x40...0x7E).contains(batch[i].code) else { return nil }
        let final = Character(UnicodeScalar(UInt8(batch[i].code)))
        let length = i - start + 1
        let parts = params.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        let modifier = parts.count >= 2 ? Int(parts[1]) ?? 1 : 1
        let ctrl = modifier == 5 || modifier == 6, alt = modifier == 3 || modifier == 4
        switch final {
        case "A", "B", "C", "D":
            if introducer == 0x4F && params.isEmpty { return nil }  // SS3 arrows: ncurses knows them
            switch (final, ctrl, alt) {
            case ("D", true, _): return (.ctrlLeft, length)
            case ("C", true, _): return (.ctrlRight, length)
            case ("A", true, _): return (.ctrlUp, length)
            case ("B", true, _): return (.ctrlDown, length)
            case ("D", _, true): return (.altLeft, length)
            case ("C", _, true): return (.altRight, length)
            case ("A", _, true): return (.altUp, length)
            case ("B", _, true): return (.altDown, length)
            case ("D", _, _): return (.left, length)
            case ("C", _, _): return (.right, length)
            case ("A", _, _): return (.up, length)
            default: return (.down, length)
            }
        case "H": return (ctrl ? .ctrlHome : .home, length)
        case "F": return (ctrl ? .ctrlEnd : .end, length)
        case "~":
            switch parts.first ?? "" {
            case "1", "7": return (.home, length)
            case "4", "8": return (.end, length)
            case "3": return (.delete, length)
            case "5": return (.pageUp, length)
            case "6": return (.pageDown, length)
            case "2": return (.insert, length)
            default: return nil
            }
        default:
            return nil
        }
    }

    public func decodeOne(_ raw: RawKey) -> Key {
        let c = raw.code
        if raw.isKeyCode, let key = codes.extended[c] { return key }
        if raw.isKeyCode {
            switch c {
            case codes.up: return .up
            case codes.down: return .down
            case codes.left: return .left
            case codes.right: return .right
            case codes.home: return .home
            case codes.end: return .end
            case codes.pageUp: return .pageUp
            case codes.pageDown: return .pageDown
            case codes.backspace: return .backspace
            case codes.delete: return .delete
            case codes.insert: return .insert
            case codes.enter: return .enter
            case codes.backTab: return .backTab
            case codes.resize: return .resize
            default:
                if c > codes.f0 && c <= codes.f0 + 63 { return .function(Int(c - codes.f0)) }
                return .unknown(Int(c))
            }
        }
        switch c {
        case 13, 10: return .enter
        case 9: return .tab
        case 27: return .escape
        case 127, 8: return .backspace
        case 0: return .ctrl(" ")
        case 1...26: return .ctrl(Character(UnicodeScalar(UInt8(c) + 0x60)))
        case 31: return .ctrl("_")
        case 28...30: return .unknown(Int(c))
        default:
            guard let s = UnicodeScalar(UInt32(bitPattern: c)) else { return .unknown(Int(c)) }
            return .char(Character(s))
        }
    }
}
