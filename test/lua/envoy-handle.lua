-- A stand-in for the stream handle Envoy passes to envoy_on_request, written to Envoy's
-- documented Lua API (envoyproxy.io, HTTP Lua filter): header names are case-insensitive and may
-- repeat; get() joins repeated values with ","; getNumValues() counts them; replace() drops every
-- value and adds one (Envoy's setCopy); remove() drops all; values must be strings. Methods
-- must be called with ":" as Envoy requires. Portable across Lua 5.1 (LuaJIT) and 5.4.
envoy_test = {}

local HeaderMap = {}
HeaderMap.__index = HeaderMap

local function check(self, method)
  if getmetatable(self) ~= HeaderMap then error("headers:" .. method .. " must be called with ':'", 3) end
end

local function key_of(key)
  if type(key) ~= "string" then error("header key must be a string", 3) end
  return string.lower(key)
end

function HeaderMap:get(key)
  check(self, "get")
  local wanted, values = key_of(key), {}
  for _, entry in ipairs(self.entries) do
    if entry[1] == wanted then values[#values + 1] = entry[2] end
  end
  if #values == 0 then return nil end
  return table.concat(values, ",")
end

function HeaderMap:getNumValues(key)
  check(self, "getNumValues")
  local wanted, count = key_of(key), 0
  for _, entry in ipairs(self.entries) do
    if entry[1] == wanted then count = count + 1 end
  end
  return count
end

function HeaderMap:add(key, value)
  check(self, "add")
  if type(value) ~= "string" then error("header value must be a string", 2) end
  self.entries[#self.entries + 1] = { key_of(key), value }
end

function HeaderMap:remove(key)
  check(self, "remove")
  local wanted, kept = key_of(key), {}
  for _, entry in ipairs(self.entries) do
    if entry[1] ~= wanted then kept[#kept + 1] = entry end
  end
  self.entries = kept
end

function HeaderMap:replace(key, value)
  check(self, "replace")
  self:remove(key)
  self:add(key, value)
end

-- spec = { headers = { {k, v}, ... }, destination = "ip:port" or nil,
--          ssl = nil or { presented = bool, uris = { ... } } }
function envoy_test.handle(spec)
  local headers = setmetatable({ entries = {} }, HeaderMap)
  for _, pair in ipairs(spec.headers) do headers:add(pair[1], pair[2]) end
  local ssl = nil
  if spec.ssl then
    ssl = {}
    function ssl:peerCertificatePresented()
      assert(self == ssl, "use ssl:peerCertificatePresented()")
      return spec.ssl.presented
    end
    function ssl:uriSanPeerCertificate()
      assert(self == ssl, "use ssl:uriSanPeerCertificate()")
      return spec.ssl.uris
    end
  end
  local stream_info, connection, handle = {}, {}, {}
  function stream_info:downstreamLocalAddress()
    assert(self == stream_info, "use streamInfo():downstreamLocalAddress()")
    return spec.destination
  end
  function connection:ssl()
    assert(self == connection, "use connection():ssl()")
    return ssl
  end
  function handle:headers()
    assert(self == handle, "use handle:headers()")
    return headers
  end
  function handle:streamInfo()
    assert(self == handle, "use handle:streamInfo()")
    return stream_info
  end
  function handle:connection()
    assert(self == handle, "use handle:connection()")
    return connection
  end
  return handle, headers
end

-- One "name: value" line per header, control characters and "\" as \ddd so lines stay lines.
function envoy_test.dump(headers)
  local lines = {}
  for _, entry in ipairs(headers.entries) do
    local value = string.gsub(entry[2], "[%c\\]", function(c) return string.format("\\%03d", string.byte(c)) end)
    lines[#lines + 1] = entry[1] .. ": " .. value
  end
  return table.concat(lines, "\n")
end
