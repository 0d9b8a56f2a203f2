/// A key, decoded from what curses returns.
public enum Key: Sendable, Hashable, CustomStringConvertible {
    case char(Character)
    case ctrl(Character)      // Ctrl-A ... Ctrl-Z as lower-case letters
    case alt(Character)
    case enter, altEnter, tab, backTab, backspace, delete, escape
    case up, down, left, right, home, end, pageUp, pageDown, insert
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
            if !raw.isKeyCode && raw.code == 27 && i + 1 < batch.count {
                let next = batch[i + 1]
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

    public func decodeOne(_ raw: RawKey) -> Key {
        let c = raw.code
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
        case 28...31: return .unknown(Int(c))
        default:
            guard let s = UnicodeScalar(UInt32(bitPattern: c)) else { return .unknown(Int(c)) }
            return .char(Character(s))
        }
    }
}
