import Bond
import Foundation

/// What a pane asks of its bond: what was typed, refs, inspections, proxies; and the log saved.
extension AppState {
    enum SubmitKind { case run, eval, block, call }

    mutating func submit(_ i: Int, kind: SubmitKind) -> [Effect] {
        guard let text = panes[i].takeInput() else { return [] }
        let effects: [Effect] = [.saveHistory(name: panes[i].name, entries: panes[i].history.entries)]
        if let group = broadcastGroup(of: i) { return effects + broadcast(from: i, group: group, kind: kind, text: text) }
        return effects + perform(i, kind: kind, text: text)
    }

    /// Turns broadcasting on or off for the focused pane's host group.
    mutating func toggleBroadcast(_ i: Int) {
        guard let group = panes[i].group else {
            flash = "\(panes[i].name) is in no host group (bond-workbench --hosts h1,h2 LANGUAGE)"
            return
        }
        let members = panes.filter { $0.group == group }.map(\.name)
        if hostGroups.broadcasting.remove(group) == nil {
            hostGroups.broadcasting.insert(group)
            flash = "broadcast on: input goes to \(members.joined(separator: ", ")) (\(config.bindings.long(.broadcast)) again: off)"
        } else {
            flash = "broadcast off: input goes to this pane only"
        }
    }

    /// Runs `text` in pane `i` as an expression, a block or a call.
    mutating func perform(_ i: Int, kind: SubmitKind, text: String) -> [Effect] {
        let request: Request
        switch kind {
        case .run:
            append(i, .input, text)
            request = .run(text)
        case .eval:
            append(i, .input, "eval " + text)
            request = .eval(text)
        case .block:
            append(i, .input, "block:\n" + text)
            request = .block(text)
        case .call:
            append(i, .input, "call " + text)
            do {
                let (name, arguments) = try CallParser.parseCall(text)
                var resolved: [CallArgument] = []
                for argument in arguments {
                    switch argument {
                    case .value: resolved.append(argument)
                    case .ref(let name):
                        // A code ref is evaluated there; a handle ref is its object (a proxy in another pane's bond).
                        if let code = panes[i].refs[name] {
                            resolved.append(.ref(code))
                        } else if let (ref, _) = handleRef(name, from: i) {
                            resolved.append(.value(.handle(ref.handle)))
                        } else {
                            append(i, .error, "call: no ref @\(name) in \(panes[i].name)")
                            return []
                        }
                    }
                }
                if name.hasPrefix("@") {
                    guard let object = objectCall(i, name, resolved) else { return [] }
                    request = object
                } else {
                    request = .call(name: name, arguments: resolved)
                }
            } catch {
                append(i, .error, error.message)
                return []
            }
        }
        if panes[i].status.isLive || panes[i].status == .starting {
            let typed = kind == .call ? String(text.trimmingSpaces.prefix { !$0.isWhitespace }) : nil
            panes[i].recordStep(request.withoutHandles(typed: typed))
        }
        return send(i, request)
    }

    /// `@name.method ARG ...` (or `@name ARG ...`: the object called): a call of a handle ref's
    /// object, run in the bond that holds it; nil (said in the pane) when it cannot be made.
    mutating func objectCall(_ i: Int, _ target: String, _ arguments: [CallArgument]) -> Request? {
        let path = target.dropFirst()
        let name = String(path.prefix { $0 != "." })
        let method = path.count > name.count ? String(path.dropFirst(name.count + 1)) : nil
        guard let (ref, owner) = handleRef(name, from: i) else {
            append(i, .error, panes[i].refs[name] != nil
                ? "call: @\(name) is a code ref; only a handle ref has methods (call a function with @\(name) as its argument)"
                : "call: no handle ref @\(name)")
            return nil
        }
        if let method, method.isEmpty {
            append(i, .error, "call: give a method after @\(name).")
            return nil
        }
        var values: [BondValue] = []
        for argument in arguments {
            guard case .value(let v) = argument else {
                append(i, .error, "call: a code ref cannot be an argument of a method call (a value or a handle ref can)")
                return nil
            }
            values.append(v)
        }
        return .object(.call(handle: ref.handle, method: method, arguments: values, owner: panes[owner].id))
    }

    mutating func send(_ i: Int, _ request: Request) -> [Effect] {
        guard let now = panes[i].take(request, transcriptWidth: geometry(of: i).transcript.width) else { return [] }
        return [.request(pane: panes[i].id, generation: panes[i].generation, now)]
    }

    mutating func makeRef(_ i: Int, name: String, code: String) -> [Effect] {
        var name = name
        if name.hasPrefix("@") { name.removeFirst() }
        guard PaneSpec.isValidName(name) else {
            flash = "a ref name is letters, digits, _ and -"
            return []
        }
        if code.isEmpty { return nameLastHandle(i, name: name) }
        panes[i].handleRefs[name] = nil
        panes[i].refs[name] = code
        if panes[i].input.text.trimmingSpaces == code { panes[i].input.clear() }
        append(i, .info, "ref @\(name) = \(code)")
        return []
    }

    mutating func inspect(_ i: Int, _ text: String) -> [Effect] {
        var name = text
        if name.hasPrefix("@") { name.removeFirst() }
        if panes[i].refs[name] == nil, let (ref, owner) = handleRef(name, from: i) {
            append(i, .input, "inspect @\(name)")
            return send(i, .object(.describe(label: "@\(name)", handle: ref.handle, owner: panes[owner].name)))
        }
        let code = panes[i].refs[name] ?? text
        let label = panes[i].refs[name] != nil ? "@\(name)" : text
        append(i, .input, "inspect \(label)")
        return send(i, .inspect(name: label, code: code, describe: Languages.describeExpression(language: panes[i].language, code: code)))
    }

    mutating func proxy(_ s: Int, function: String, target: Int, name: String) -> [Effect] {
        guard let t = index(of: target) else {
            flash = "that pane is gone"
            return []
        }
        guard Bond.isFunctionName(name) else {
            flash = "\"\(name)\" is not a valid function name"
            return []
        }
        guard let check = Languages.functionCheck(language: panes[s].language, name: function) else {
            append(t, .info, "proxy \(panes[s].name).\(function) as \(name)…")
            return send(t, .proxy(source: panes[s].id, function: function, name: name))
        }
        // First ask the source whether it has the function; the wire is made only if it has.
        append(s, .info, "proxy: looking for \(function) in \(panes[s].name)…")
        return send(s, .checkFunction(function: function, check: check, target: target, name: name))
    }

    /// The source answered whether it has the function: proxy it, or say why not (no wire made).
    mutating func functionChecked(_ s: Int, function: String, target: Int, name: String, outcome: Outcome) -> [Effect] {
        var exists = false
        var reason = "it is not a function there"
        switch outcome {
        case .value(let v): exists = v.boolValue ?? ((v.intValue ?? 0) != 0)
        case .failure(let text): reason = text
        default: break
        }
        guard exists else {
            let message = "proxy not made: \(panes[s].name) has no function \(function) (\(reason))"
            append(s, .error, message)
            flash = message
            return []
        }
        guard let t = index(of: target) else {
            flash = "proxy: that pane is gone"
            return []
        }
        append(t, .info, "proxy \(panes[s].name).\(function) as \(name)…")
        return send(t, .proxy(source: panes[s].id, function: function, name: name))
    }

    /// Saves the log as JSON lines: every frame kept, or (`shown`) those the filter shows.
    mutating func saveLog(_ path: String, shown: Bool = false) -> [Effect] {
        guard !path.isEmpty else {
            flash = "log save: give a file name"
            return []
        }
        let entries: [LogEntry]
        if shown && !log.filter.isEmpty {
            entries = log.shownEntries
        } else {
            entries = Array(log.frames)
        }
        return [.saveLog(path: path, lines: entries.map(Traffic.jsonLine))]
    }
}
