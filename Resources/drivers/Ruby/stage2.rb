# bond Ruby driver, stage 2 (Ruby 2.5 and later; only the standard library's json).
#
# Sent by the host as data and evaluated by stage 1 at the top level, then started with
# __BOND_start(protocol, trans_except). Written from the bond wire protocol: one frame per
# line, "VERB" or "VERB <json>". User code runs in TOPLEVEL_BINDING, as irb runs it: methods,
# classes, modules, constants, globals and local variables persist from one request to the
# next. The driver keeps every name of its own inside the module BOND_Driver (Ruby constants
# must begin with a capital letter) and the method __BOND_start; it defines no top-level local.

require "json"

module BOND_Driver
  # A value cannot cross the bond (a TypeError, so `rescue TypeError` catches it too).
  class SerializationError < TypeError; end

  # The host answered a call of an exported function with an error; #data holds its payload.
  class RemoteError < StandardError
    attr_reader :data

    def initialize(data)
      @data = data
      super(data.is_a?(String) ? data : JSON.generate(data))
    end
  end

  INT_RANGE = (-(2**63))..(2**63 - 1)
  MAX_DEPTH = 10_000
  NAME = /\A[A-Za-z_][A-Za-z0-9_]*\z/
  # A plain method name: called on the top-level object, as `name(args)` would call it.
  PLAIN = /\A[A-Za-z_][A-Za-z0-9_]*[?!]?\z/
  LOCAL = /\A[a-z_][A-Za-z0-9_]*\z/
  # `receiver.method`, `Module::method`, `receiver&.method`: the receiver is evaluated, then
  # the method called with the arguments.
  SENT = /\A(.+?)\s*(\.|::|&\.)\s*([A-Za-z_][A-Za-z0-9_]*[?!=]?)\z/m
  GENERIC_TO_JSON = /\AJSON::.*GeneratorMethods/
  MAIN = TOPLEVEL_BINDING.receiver

  # Whether this process may run on more than one processor (its affinity mask, from /proc).
  def self.spare_cpu?
    line = File.foreach("/proc/self/status").find { |l| l.start_with?("Cpus_allowed_list:") }
    return true unless line
    line.split(":", 2)[1].strip.split(",").sum { |part| a, b = part.split("-").map(&:to_i); b ? b - a + 1 : 1 } > 1
  rescue SystemCallError, IOError
    true
  end

  # The driver's state and its request loop: one instance, made by __BOND_start. (The instance
  # variables of a plain object are read through an inline cache; those of a module, where
  # they were, through a hash table each time: about 2 000 instructions of a call.)
  class Server
    def initialize
      @trans = false
      @running = false   # user code runs now: only then does SIGINT raise Interrupt
      @writing = false   # a frame is being written: an interrupt waits for its end
      @pending = false   # an interrupt came while a frame was written
      @pid = Process.pid # a child forked by user code must never speak the protocol
      @gone = false
      @name_kinds = {}
    end

    # ---------------------------------------------------------------------------------------
    # JSON writing. Only nil, true, false, numbers, strings (and symbols), arrays and hashes
    # cross; an object crosses through its own as_json or to_json, never through the json
    # library's generic Object#to_json (which would send its to_s as a string).

    def encode(value, depth = 0, seen = nil)
      case value
      when String then return encode_string(value) if value.instance_of?(String)
      when Integer
        return value.to_s if value.bit_length < 64 # in INT_RANGE (half the cost of Range#cover?)
        raise SerializationError, "cannot serialize the integer #{value}: it does not fit in 64 bits"
      when Float
        return value.to_s if value.finite?
        raise SerializationError, "cannot serialize #{value} (not a finite number)"
      when nil then return "null"
      when true then return "true"
      when false then return "false"
      when Symbol then return encode_string(value.to_s)
      end
      raise SerializationError, "cannot serialize data nested deeper than #{MAX_DEPTH} levels" if depth >= MAX_DEPTH
      # (A plain Array or Hash has no to_json of its own to ask about: asking, through its
      # Method object, cost a callback 1.9x the limit loop instead of 1.4x.)
      unless value.instance_of?(Array) || value.instance_of?(Hash)
        custom = custom_json(value)
        return encode(custom, depth + 1, seen) if custom
      end
      case value
      when String then encode_string(value)
      when Array, Hash
        seen ||= {}
        id = value.__id__
        raise SerializationError, "cannot serialize a cyclic structure" if seen[id]
        seen[id] = true
        begin
          if value.is_a?(Array)
            "[" + value.map { |item| encode(item, depth + 1, seen) }.join(",") + "]"
          else
            "{" + value.map { |k, v| encode_key(k) + ":" + encode(v, depth + 1, seen) }.join(",") + "}"
          end
        ensure
          seen.delete(id)
        end
      else
        raise SerializationError, "cannot serialize an object of class #{value.class} (it has no as_json or to_json of its own)"
      end
    end

    # The plain data that stands for an object with an as_json or to_json of its own.
    def custom_json(value)
      if value.respond_to?(:as_json)
        value.as_json
      elsif value.respond_to?(:to_json) && value.method(:to_json).owner.name.to_s !~ GENERIC_TO_JSON
        JSON.parse(value.to_json, max_nesting: false, allow_nan: false, create_additions: false)
      end
    rescue SerializationError
      raise
    rescue JSON::ParserError => e
      raise SerializationError, "#{value.class}#to_json gave no valid JSON: #{e.message}"
    end

    def encode_key(key)
      case key
      when String then encode_string(key)
      when Symbol, Integer, Float, true, false, nil then encode_string(key.to_s)
      else raise SerializationError, "cannot serialize a hash key of class #{key.class}"
      end
    end

    def encode_string(s)
      unless s.encoding == Encoding::UTF_8
        s = s.encoding == Encoding::BINARY || s.encoding == Encoding::US_ASCII ? s.dup.force_encoding(Encoding::UTF_8) : s.encode(Encoding::UTF_8)
      end
      raise SerializationError, "cannot serialize a string that is not valid UTF-8: #{s.inspect[0, 60]}" unless s.valid_encoding?
      s.to_json
    rescue EncodingError => e
      raise SerializationError, "cannot serialize a string in #{s.encoding}: #{e.message}"
    end

    PARSE_OPTIONS = { max_nesting: false, allow_nan: false, create_additions: false }.freeze

    # JSON.parse's defaults are the driver's options but for the depth (at most 100): a payload
    # is parsed with no options first, and only one nested deeper is parsed again with them
    # (the options hash, read on every parse, cost about 1 us of a 6 us call round trip).
    def decode(text)
      JSON.parse(text)
    rescue JSON::NestingError
      JSON.parse(text, PARSE_OPTIONS)
    end

    # ---------------------------------------------------------------------------------------
    # Frames

    # The verbs of the protocol: a set lookup spares the common frames a regular expression.
    VERBS = %w[CALL EVAL EVAL_BLOCK XCALL EXPORT RUN RETURN EXCEPT ERROR].to_h { |v| [v, true] }.freeze

    def child?
      Process.pid != @pid
    end

    def write_frame(verb, payload = nil)
      return if @gone || child?
      @writing = true
      begin
        # Written in pieces (one writev): a big payload goes out without being copied.
        payload ? @out.write(verb, " ", payload, "\n") : @out.write(verb, "\n")
      rescue Errno::EPIPE, IOError
        exit!(1) # the host is gone
      ensure
        @writing = false
      end
      if @pending
        @pending = false
        raise Interrupt, "interrupted by SIGINT" if @running
      end
    end

    def send_value(verb, value)
      flush_output
      payload = begin
        encode(value)
      rescue SerializationError, SystemStackError => e
        what = verb == "EXCEPT" ? "exception" : "result"
        return write_frame("ERROR", encode_string("cannot serialize the #{what}: #{e.message}"))
      end
      write_frame(verb, payload)
    end

    def send_error(message)
      flush_output
      write_frame("ERROR", encode_string(message))
    end

    def describe(error)
      message = error.message.to_s
      message.empty? || message == error.class.name ? error.class.name.to_s : "#{error.class}: #{message}"
    end

    def send_exception(error)
      return send_error(error.message) if error.is_a?(SerializationError)
      return send_value("EXCEPT", describe(error)) unless @trans
      return send_value("EXCEPT", error.data) if error.is_a?(RemoteError)
      value = custom_json(error) rescue nil
      value ||= { "type" => error.class.name, "message" => describe(error) }
      send_value("EXCEPT", value)
    end

    # Reads the next line (binary, without its end); nil at the end of input. When nothing is
    # there yet it looks again for up to 50 microseconds before it sleeps in select: the host
    # usually sends the next request within that time, and a sleep and wake-up costs more.
    def read_line
      buffer = @buffer
      spin_until = nil
      loop do
        if (i = buffer.index("\n", @scanned))
          line = buffer.byteslice(0, i)
          buffer.replace(buffer.byteslice(i + 1, buffer.bytesize - i - 1))
          @scanned = 0
          line.chomp!("\r")
          return line
        end
        @scanned = buffer.bytesize
        chunk = @spin ? @in.read_nonblock(1 << 20, @chunk, exception: false) : (@in.readpartial(1 << 20, @chunk) rescue nil)
        if chunk == :wait_readable
          now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
          spin_until ||= now + 0.00005
          IO.select([@in]) if now >= spin_until
          next
        end
        return nil if chunk.nil?
        buffer << chunk
      end
    end

    # The next request as [verb, data, error]; leaves at the end of input.
    def read_frame
      line = read_line
      bye unless line
      space = line.index(" ")
      verb = space ? line.byteslice(0, space) : line
      return [verb, nil, "malformed frame: not a verb"] unless VERBS.include?(verb) || verb.match?(/\A[A-Z_]+\z/)
      return [verb, nil, nil] unless space
      payload = line.byteslice(space + 1, line.bytesize - space - 1).force_encoding(Encoding::UTF_8)
      [verb, decode(payload), nil]
    rescue JSON::ParserError, EncodingError => e
      [verb, nil, "cannot decode the #{verb} payload: #{e.message}"]
    end

    def bye
      flush_output
      write_frame("BYE")
      @gone = true
      exit!(0)
    end

    # ---------------------------------------------------------------------------------------
    # Output: $stdout and $stderr of user code send their text as OUTPUT frames, at each end
    # of line, on flush, and before any other frame; $stderr at once.

    def flush_output
      @stdout.flush_pending
      @stderr.flush_pending
    end

    def send_output(channel, text)
      if child? # a forked child: plain text on the interpreter's stderr
        STDERR.write(text)
        STDERR.flush
        return
      end
      write_frame("OUTPUT", "[\"#{channel}\"," + encode_string(text.dup.force_encoding(Encoding::UTF_8).scrub) + "]")
    end

    # ---------------------------------------------------------------------------------------
    # Running user code


    # Runs the block (user code) with interrupts enabled; returns [true, value] or
    # [false, exception].
    def run_user
      outer = @running
      @running = true
      begin
        [true, yield]
      rescue SystemExit
        flush_output
        raise
      rescue Exception => e # rubocop:disable Lint/RescueException
        [false, e]
      ensure
        @running = outer
      end
    ensure
      if child? # a forked child came back here: it ends
        flush_output
        exit!(0)
      end
    end

    def evaluate(code)
      eval(code, TOPLEVEL_BINDING, "(bond)", 1)
    end

    # What a called name looks like, by name (:local, a lower-case plain name, which may be a
    # local variable; :plain, any other plain name; :other), so that a call of a name seen
    # before matches no regular expression (three of them were 0.5 us of a 6 us call).
    def name_kind(name)
      @name_kinds[name] ||= begin
        @name_kinds.clear if @name_kinds.size > 1000
        name.match?(PLAIN) ? (name.match?(LOCAL) ? :local : :plain) : :other
      end
    end

    # Calls `name` with `args`, and `keywords` ([ext] KEYWORDS: a Hash of Symbols, or nil).
    # (Each call is written twice: an empty **keywords cost a call 4% more.)
    def callable(name, args, keywords = nil)
      kind = name_kind(name)
      if kind != :other
        if kind == :local && TOPLEVEL_BINDING.local_variable_defined?(name)
          function = TOPLEVEL_BINDING.local_variable_get(name)
          return keywords ? function.call(*args, **keywords) : function.call(*args)
        end
        return (keywords ? MAIN.__send__(name, *args, **keywords) : MAIN.__send__(name, *args)) unless kind == :plain && name.match?(/\A[A-Z]/) && !MAIN.respond_to?(name, true)
      elsif (m = SENT.match(name))
        receiver = begin
          evaluate(m[1])
        rescue SyntaxError
          nil.tap { m = nil }
        end
        if m
          return nil if m[2] == "&." && receiver.nil?
          return (keywords ? receiver.public_send(m[3], *args, **keywords) : receiver.public_send(m[3], *args)) unless m[2] == "::" && m[3].match?(/\A[A-Z]/) && !receiver.respond_to?(m[3])
        end
      end
      function = evaluate(name)
      raise NoMethodError, "#{name} is not callable (#{function.class} has no call method)" unless function.respond_to?(:call)
      keywords ? function.call(*args, **keywords) : function.call(*args)
    end

    # `keywords` ([ext] KEYWORDS): the exported method also takes keyword arguments, and sends
    # them to the host as the CALL's third element.
    def export(name, keywords = false)
      driver = self
      prefix = "[#{encode_string(name)},".freeze # the start of its CALL frames, made once
      if keywords
        Object.__send__(:define_method, name) { |*args, **named| driver.call_host(name, args, prefix, named) }
      else
        Object.__send__(:define_method, name) { |*args| driver.call_host(name, args, prefix) }
      end
      Object.__send__(:private, name)
    end

    # The arguments of an exported function as a JSON array. The array was made by the call
    # (*args), so no argument can hold it: its items are encoded as encode does it, without
    # the cycle check of the array itself (a hash made for each callback).
    def encode_args(args)
      "[" + args.map { |item| encode(item, 1) }.join(",") + "]"
    end

    # An exported function: forwards the call to the host and serves its requests until it
    # answers.
    def call_host(name, args, prefix = nil, keywords = nil)
      raise "#{name} cannot be called from a child process: it is exported by the host" if child?
      payload = begin
        text = (prefix || "[#{encode_string(name)},") + encode_args(args)
        text << "," << encode(keywords.transform_keys(&:to_s), 1) if keywords && !keywords.empty?
        text << "]"
      rescue SerializationError => e
        raise SerializationError, "cannot serialize the arguments of #{name}: #{e.message}"
      end
      flush_output
      running = @running
      @running = false # no interrupt may cut the conversation while the host answers
      begin
        write_frame("CALL", payload)
        verb, data, error = serve(true)
      ensure
        @running = running
      end
      raise SerializationError, error if error
      return data if verb == "RETURN"
      raise RemoteError.new(data.nil? ? "remote exception" : data) if verb == "EXCEPT"
      raise SerializationError, data.is_a?(String) ? data : "serialization error"
    end

    # ---------------------------------------------------------------------------------------
    # RUN [ext]: what a user typed at the REPL, or one expression; the value or its
    # description.

    def run_request(data)
      unless data.is_a?(Hash) && data["code"].is_a?(String)
        return send_error("malformed RUN request: expected {\"code\", \"mode\", \"unserializable\"}")
      end
      ok, value = run_user { evaluate(data["code"]) }
      return send_exception(value) unless ok
      return send_value("RETURN", {}) if data["mode"] == "input" && value.nil?
      payload = begin
        "{\"value\":" + encode(value) + "}"
      rescue SerializationError, SystemStackError => e
        return send_error("cannot serialize the result: #{e.message}") unless data["unserializable"] == "describe"
        text = begin
          value.inspect
        rescue Exception => inspect_error # rubocop:disable Lint/RescueException
          "#<#{value.class} (inspect failed: #{inspect_error.class})>"
        end
        return send_value("RETURN", { "description" => text.to_s.scrub, "type" => value.class.name.to_s })
      end
      flush_output
      write_frame("RETURN", payload)
    end

    # ---------------------------------------------------------------------------------------
    # The request loop: at depth 0 it serves until its input ends; nested (inside an exported
    # function) it returns the host's reply as [verb, data, error].

    def serve(nested)
      loop do
        verb, data, error = read_frame
        if verb == "RETURN" || verb == "EXCEPT" || verb == "ERROR"
          return [verb, data, error] if nested
          bye # a reply with no call pending ends the top level loop
        end
        next send_error(error) if error
        handle(verb, data)
      end
    end

    def handle(verb, data)
      case verb
      when "EVAL", "EVAL_BLOCK"
        return send_error("malformed #{verb} request: expected a code string") unless data.is_a?(String)
        ok, value = run_user { evaluate(data) }
        return send_exception(value) unless ok
        send_value("RETURN", verb == "EVAL" ? value : nil)
      when "CALL", "XCALL"
        unless data.is_a?(Array) && data[0].is_a?(String) && data[1].is_a?(Array) && (data.size == 2 || data.size == 3 && data[2].is_a?(Hash))
          return send_error("malformed #{verb} request: expected [name, [args...]]")
        end
        name, args, named = data
        keywords = named&.transform_keys(&:to_sym) # [ext] KEYWORDS
        if verb == "XCALL"
          unless args.all? { |a| a.is_a?(Array) && a.size == 2 && (a[0] != 1 && a[0] != true || a[1].is_a?(String)) }
            return send_error("malformed XCALL argument: expected [is_ref, value]")
          end
        end
        ok, value = run_user do
          args = args.map { |is_ref, x| is_ref == 1 || is_ref == true ? evaluate(x) : x } if verb == "XCALL"
          callable(name, args, keywords)
        end
        return send_exception(value) unless ok
        send_value("RETURN", value)
      when "EXPORT"
        keywords = data.is_a?(Hash) && data["keywords"] == true # [ext] KEYWORDS
        data = data["name"] if keywords
        return send_error("malformed EXPORT request: expected a name") unless data.is_a?(String)
        return send_value("EXCEPT", "invalid name for an exported function: #{data}") unless data.match?(NAME)
        export(data, keywords)
        send_value("RETURN", nil)
      when "RUN"
        run_request(data)
      else
        send_error("unknown request: #{verb}")
      end
    end

    def start(protocol, trans_except)
      raise ArgumentError, "unsupported protocol #{protocol.inspect}" unless protocol == "JSON"
      @trans = trans_except ? true : false
      $stdout.flush
      $stderr.flush
      # [ext] The protocol stays on private duplicates of descriptors 0 and 1 (Ruby opens
      # them close-on-exec); descriptor 1 then points at descriptor 2 and descriptor 0 at
      # /dev/null, so that programs started by user code can neither forge nor eat frames.
      @in = STDIN.dup
      @out = STDOUT.dup
      @out.binmode
      @out.sync = true
      @in.binmode
      STDIN.reopen(File::NULL)
      STDOUT.reopen(STDERR)
      # Requests are read from a second, non-blocking open of the same pipe, so that the flag
      # does not touch the shared description (a socket cannot be opened again: then reads
      # block). With a single processor to run on, reads block at once.
      @spin = false
      if BOND_Driver.spare_cpu?
        begin
          again = File.open("/proc/self/fd/#{@in.fileno}", File::RDONLY | File::NONBLOCK)
          again.binmode
          @in = again
          @spin = true
        rescue SystemCallError
          nil
        end
      end
      @buffer = String.new(capacity: 1 << 16, encoding: Encoding::BINARY)
      @chunk = String.new(capacity: 1 << 20, encoding: Encoding::BINARY)
      @scanned = 0
      @stdout = Channel.new("STDOUT", self)
      @stderr = Channel.new("STDERR", self)
      @stdout.other = @stderr
      @stderr.other = @stdout
      $stdout = @stdout
      $stderr = @stderr
      trap("INT") do
        if @running
          if @writing
            @pending = true
          else
            raise Interrupt, "interrupted by SIGINT"
          end
        end
      end
      at_exit { flush_output unless @gone || child? }
      write_frame("READY")
      serve(false)
    end
  end

  # $stdout / $stderr of user code.
  class Channel
    attr_accessor :sync
    attr_writer :other # the other channel, flushed before this one takes text

    def initialize(name, server)
      @name = name
      @server = server
      @other = nil
      @pending = String.new(encoding: Encoding::BINARY)
      @sync = name == "STDERR"
    end

    def write(*items)
      count = 0
      items.each do |item|
        text = item.to_s
        count += text.bytesize
        next if text.empty?
        @other.flush_pending # keep the order of both channels
        @pending << text.b
      end
      if @sync || @pending.bytesize >= 65_536
        flush_pending
      elsif (i = @pending.rindex("\n"))
        line = @pending.byteslice(0, i + 1)
        @pending = @pending.byteslice(i + 1, @pending.bytesize - i - 1)
        @server.send_output(@name, line)
      end
      count
    end

    def flush_pending
      return if @pending.empty?
      text = @pending
      @pending = String.new(encoding: Encoding::BINARY)
      @server.send_output(@name, text)
    end

    def <<(item)
      write(item)
      self
    end

    def print(*items)
      items = [$_] if items.empty?
      write(*items.map(&:to_s), *($\ ? [$\] : []))
      nil
    end

    def puts(*items)
      return write("\n") && nil if items.empty?
      lines = items.flatten.map { |item| (s = item.nil? ? "" : item.to_s).end_with?("\n") ? s : s + "\n" }
      write(*lines)
      nil
    end

    def printf(format, *args)
      write(Kernel.format(format, *args))
      nil
    end

    def putc(char)
      write(char.is_a?(Integer) ? (char & 0xff).chr : char.to_s[0])
      char
    end

    def flush
      flush_pending
      self
    end

    def fsync
      flush_pending
      0
    end

    def fileno
      @name == "STDOUT" ? 1 : 2
    end

    def isatty
      false
    end
    alias tty? isatty

    def closed?
      false
    end

    def external_encoding
      Encoding::UTF_8
    end

    def internal_encoding
      nil
    end

    def set_encoding(*)
      self
    end

    def binmode
      self
    end

    def inspect
      "#<BOND_Driver::Channel #{@name}>"
    end
  end
end

def __BOND_start(protocol, trans_except)
  BOND_Driver::Server.new.start(protocol, trans_except)
end
